package io.github.httpipc.transport

import java.io.Closeable
import java.nio.channels.ServerSocketChannel
import java.nio.channels.SocketChannel
import java.nio.file.Files
import java.nio.file.LinkOption
import java.nio.file.Path
import java.nio.file.attribute.BasicFileAttributes

/**
 * A listening Unix socket that owns its socket file: [unlink] and [close] remove the file, but
 * only while it is still the file this listener created (a newer provider's socket is left
 * alone). Made by [UnixSockets.listen].
 *
 * The channel's own address is a temporary name (the socket was bound elsewhere and linked into
 * place); [path] is where clients connect.
 */
class UnixListener internal constructor(
  private val server: ServerSocketChannel,
  /** The socket file clients connect to. */
  val path: Path,
  private val fileKey: Any?,
) : Closeable {
  @Volatile private var unlinked = false

  /** Waits for and returns the next connection (a blocking channel). */
  fun accept(): SocketChannel = server.accept()

  /** Whether the listener is still open. */
  val isOpen: Boolean get() = server.isOpen

  /**
   * Removes the socket file now, if it is still the one this listener created, so that new
   * clients can no longer connect while connections already queued can still be accepted.
   */
  @Synchronized
  fun unlink() {
    if (unlinked) return
    unlinked = true
    try {
      val key = Files.readAttributes(path, BasicFileAttributes::class.java, LinkOption.NOFOLLOW_LINKS).fileKey()
      if (fileKey != null && key == fileKey) Files.deleteIfExists(path)
    } catch (_: java.io.IOException) {
    }
  }

  /** Stops listening and removes the socket file (see [unlink]). */
  override fun close() {
    unlink()
    server.close()
  }

  override fun toString(): String = "unix:$path"
}
