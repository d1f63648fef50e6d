package io.github.httpipc

import io.github.httpipc.bhttp.Fields
import io.github.httpipc.server.IpcServer
import io.github.httpipc.server.IpcServerOptions
import io.github.httpipc.transport.UnixListener
import io.github.httpipc.transport.UnixSockets
import java.io.Closeable
import java.nio.file.Files
import java.nio.file.Path

/** The handler the protocol vectors were recorded with (testdata/protocol-vectors.json). */
fun vectorHandler() = HttpHandler { req, resp ->
  when ("${req.method} ${req.path}") {
    "GET /hello" -> {
      resp.headers["content-type"] = "text/plain"
      resp.body.write("hello\n".toByteArray())
    }
    "POST /echo" -> {
      resp.headers["content-type"] = "application/octet-stream"
      val b = req.body.readBytes()
      resp.body.write(b)
      resp.trailers["x-echo-trailer"] = req.trailers()?.get("x-trailer") ?: ""
    }
    "GET /hints" -> {
      resp.informational(103, Fields("link" to "</a.css>"))
      resp.status = 204
    }
    else -> notFound(resp)
  }
}

fun notFound(resp: ServerResponse) {
  resp.status = 404
  resp.headers["content-type"] = "text/plain; charset=utf-8"
  resp.headers["x-content-type-options"] = "nosniff"
  resp.body.write("404 page not found\n".toByteArray())
}

/** A provider serving [handler] on a socket in a new temporary directory. */
class TestProvider(handler: HttpHandler, options: IpcServerOptions = IpcServerOptions.defaults()) : Closeable {
  val dir: Path = Files.createTempDirectory("httpipc-test")
  val socket: Path = dir.resolve("p.sock")
  val address = "unix:$socket"
  val server = IpcServer(handler, options)
  private val listener: UnixListener = UnixSockets.listen(socket)
  private val thread = Thread { server.serve(listener) }.apply { isDaemon = true; start() }

  override fun close() {
    server.close()
    thread.join()
    dir.toFile().deleteRecursively()
  }
}

fun ByteArray.hex(): String = joinToString("") { "%02x".format(it.toInt() and 0xff) }

fun String.unhex(): ByteArray = chunked(2).map { it.toInt(16).toByte() }.toByteArray()
