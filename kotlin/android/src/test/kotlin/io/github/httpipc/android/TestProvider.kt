package io.github.httpipc.android

import io.github.httpipc.HttpHandler
import java.util.concurrent.CountDownLatch

/**
 * The provider the tests bind: `GET /hello` answers which instance and caller it saw,
 * `POST /echo` echoes, `GET /big?n=N` sends N bytes, `GET /stall` sends part of a body and waits
 * for [release].
 */
class TestProvider : HttpIpcService() {
  /** Counted down when `/stall` has sent the start of its body. */
  val stalled = CountDownLatch(1)

  /** Lets `/stall` go on. */
  val release = CountDownLatch(1)

  override fun createHandler() = HttpHandler { req, resp ->
    when {
      req.path == "/hello" -> resp.body.write("hello from ${System.identityHashCode(this)} to uid ${req.peer?.uid}".toByteArray())
      req.path == "/echo" -> req.body.copyTo(resp.body, 64 * 1024)
      req.path.startsWith("/big?n=") -> {
        var left = req.path.substringAfter("=").toLong()
        val buf = ByteArray(64 * 1024) { (it % 251).toByte() }
        while (left > 0) {
          val n = minOf(left, buf.size.toLong()).toInt()
          resp.body.write(buf, 0, n)
          left -= n
        }
      }
      req.path == "/stall" -> {
        resp.body.write(ByteArray(1000))
        resp.body.flush()
        stalled.countDown()
        release.await()
      }
      else -> resp.status = 404
    }
  }
}
