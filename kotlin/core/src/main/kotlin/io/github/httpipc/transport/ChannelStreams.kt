package io.github.httpipc.transport

import java.io.IOException
import java.io.InputStream
import java.io.OutputStream
import java.nio.ByteBuffer
import java.nio.channels.SocketChannel

/**
 * An [InputStream] over a blocking [SocketChannel] that, unlike `Channels.newInputStream`, does
 * not take the channel's blocking lock, so that one thread can read while another writes.
 */
internal class ChannelInputStream(private val ch: SocketChannel) : InputStream() {
  private val one = ByteArray(1)

  override fun read(): Int = if (read(one, 0, 1) < 0) -1 else one[0].toInt() and 0xff

  override fun read(b: ByteArray, off: Int, len: Int): Int {
    if (len == 0) return 0
    val n = ch.read(ByteBuffer.wrap(b, off, len))
    return if (n < 0) -1 else n
  }

  override fun close() = ch.close()
}

/** An [OutputStream] over a blocking [SocketChannel] that writes fully, without the blocking lock. */
internal class ChannelOutputStream(private val ch: SocketChannel) : OutputStream() {
  override fun write(b: Int) = write(byteArrayOf(b.toByte()), 0, 1)

  override fun write(b: ByteArray, off: Int, len: Int) {
    val buf = ByteBuffer.wrap(b, off, len)
    while (buf.hasRemaining()) {
      if (ch.write(buf) < 0) throw IOException("write returned -1")
    }
  }

  override fun close() = ch.close()
}
