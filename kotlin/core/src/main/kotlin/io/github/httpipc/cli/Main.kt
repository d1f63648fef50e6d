package io.github.httpipc.cli

import kotlin.system.exitProcess

/** Entry point of httpipc-jvm.jar. */
fun main(args: Array<String>) {
    System.err.println("usage: httpipc-jvm call|serve ...")
    exitProcess(2)
}
