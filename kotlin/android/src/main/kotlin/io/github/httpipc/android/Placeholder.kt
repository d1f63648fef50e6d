package io.github.httpipc.android

internal object Placeholder
