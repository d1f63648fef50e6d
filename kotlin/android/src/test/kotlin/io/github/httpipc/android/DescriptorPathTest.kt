package io.github.httpipc.android

import io.github.httpipc.HttpHandler
import io.github.httpipc.PeerCredentials
import io.github.httpipc.client.Dialer
import io.github.httpipc.client.HttpipcCallFactory
import io.github.httpipc.client.StreamConnection
import io.github.httpipc.Policies
import io.github.httpipc.server.IpcServer
import io.github.httpipc.server.IpcServerOptions
import java.net.StandardProtocolFamily
import java.net.UnixDomainSocketAddress
import java.io.InputStream
import java.io.OutputStream
import java.nio.ByteBuffer
import java.nio.channels.ServerSocketChannel
import java.nio.channels.SocketChannel
import java.nio.file.Files
import okhttp3.Request
import okhttp3.RequestBody
import okio.BufferedSink
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test

/**
 * The descriptor path without Robolectric, which cannot make a socketpair: a real connected
 * pair of Unix stream sockets, the provider's [IpcServer.serveConnection] on one end (as
 * [HttpIpcService] serves its end of the pair), OkHttp through [HttpipcCallFactory] and a
 * [Dialer] on the other (as [HttpIpcClient] uses the end it received), 16 MiB each way.
 */
class DescriptorPathTest {
  @Test
  fun sixteenMebibytesEachWayOverASocketpair() {
    val handler = HttpHandler { req, resp ->
      if (req.path == "/echo") req.body.copyTo(resp.body, 64 * 1024)
      else {
        val buf = ByteArray(64 * 1024)
        repeat(256) { resp.body.write(buf) }
      }
    }
    // The caller's uid as Binder reported it at CONNECT, checked as the service checks it.
    val server = IpcServer(handler, IpcServerOptions.defaults().newBuilder().policy(Policies.allowUids(10042)).build())
    val dir = Files.createTempDirectory("httpipc-pair")
    val listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX).bind(UnixDomainSocketAddress.of(dir.resolve("s")))
    val dialer = Dialer {
      val mine = SocketChannel.open(UnixDomainSocketAddress.of(dir.resolve("s")))
      val theirs = listener.accept()
      Thread { server.serveConnection(input(theirs), output(theirs), PeerCredentials(10042), theirs) }.start()
      object : StreamConnection {
        override val input = input(mine)
        override val output = output(mine)
        override fun close() = mine.close()
      }
    }
    val size = 16L * 1024 * 1024
    HttpipcCallFactory(dialer).use { f ->
      f.newCall(Request.Builder().url("http://provider/big").build()).execute().use { r ->
        assertEquals(size, count(r.body.source()))
      }
      val body = object : RequestBody() {
        override fun contentType() = null
        override fun contentLength() = size
        override fun writeTo(sink: BufferedSink) {
          val buf = ByteArray(64 * 1024)
          repeat(256) { sink.write(buf) }
        }
      }
      f.newCall(Request.Builder().url("http://provider/echo").post(body).build()).execute().use { r ->
        assertEquals(size, count(r.body.source()))
      }
    }
    server.close()
    listener.close()
  }

  // Not Channels.newInputStream: its streams lock the channel for each read and write, so a
  // read blocks writes, as a descriptor's FileInputStream and FileOutputStream never do.
  private fun input(ch: SocketChannel) = object : InputStream() {
    override fun read() = ByteArray(1).let { if (read(it, 0, 1) < 0) -1 else it[0].toInt() and 0xff }
    override fun read(b: ByteArray, off: Int, len: Int) = if (len == 0) 0 else ch.read(ByteBuffer.wrap(b, off, len))
    override fun close() = ch.close()
  }

  private fun output(ch: SocketChannel) = object : OutputStream() {
    override fun write(b: Int) = write(byteArrayOf(b.toByte()), 0, 1)
    override fun write(b: ByteArray, off: Int, len: Int) {
      val buf = ByteBuffer.wrap(b, off, len)
      while (buf.hasRemaining()) ch.write(buf)
    }
    override fun close() = ch.close()
  }

  private fun count(src: okio.BufferedSource): Long {
    var n = 0L
    while (!src.exhausted()) n += src.buffer.size.also { src.buffer.clear() }
    return n
  }
}
