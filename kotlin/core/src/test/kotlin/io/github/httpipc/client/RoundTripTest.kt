package io.github.httpipc.client

import io.github.httpipc.HttpHandler
import io.github.httpipc.Policies
import io.github.httpipc.TestProvider
import io.github.httpipc.bhttp.Fields
import io.github.httpipc.server.IpcServerOptions
import io.github.httpipc.server.isCancelled
import io.github.httpipc.vectorHandler
import java.io.IOException
import java.security.MessageDigest
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import okhttp3.MediaType.Companion.toMediaType
import okhttp3.Request
import okhttp3.RequestBody
import okhttp3.RequestBody.Companion.toRequestBody
import okio.BufferedSink
import org.junit.jupiter.api.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

class RoundTripTest {
  private val mib16 = 16L shl 20

  /** Deterministic content: byte i is (i * 31 + i / 7) mod 256. */
  private fun pattern(i: Long): Byte = ((i * 31 + i / 7) and 0xff).toByte()

  private fun fill(buf: ByteArray, from: Long) {
    for (j in buf.indices) buf[j] = pattern(from + j)
  }

  private val handler = HttpHandler { req, resp ->
    when (req.path.substringBefore('?')) {
      "/hello", "/nothing", "/hints" -> vectorHandler().handle(req, resp)
      "/echo" -> {
        resp.headers["content-type"] = "application/octet-stream"
        req.body.copyTo(resp.body)
        resp.trailers["x-echo-trailer"] = req.trailers()?.get("x-trailer") ?: "none"
      }
      "/sum" -> { // reads a large body, answers its length and digest
        val md = MessageDigest.getInstance("SHA-256")
        val buf = ByteArray(64 * 1024)
        var n = 0L
        while (true) {
          val r = req.body.read(buf)
          if (r < 0) break
          md.update(buf, 0, r)
          n += r
        }
        resp.body.write("$n ${md.digest().joinToString("") { "%02x".format(it) }}".toByteArray())
      }
      "/big" -> { // streams 16 MiB
        val buf = ByteArray(50_000)
        var off = 0L
        while (off < mib16) {
          val n = minOf(buf.size.toLong(), mib16 - off).toInt()
          fill(buf, off)
          resp.body.write(buf, 0, n)
          off += n
        }
        resp.trailers["x-count"] = off.toString()
      }
      "/sized" -> {
        resp.headers["content-length"] = "6"
        resp.body.write("hello\n".toByteArray())
      }
      "/whoami" -> resp.body.write("${req.method} ${req.scheme} ${req.authority} ${req.path} ${req.headers["x-a"]}".toByteArray())
      else -> io.github.httpipc.notFound(resp)
    }
  }

  private fun digest(len: Long): String {
    val md = MessageDigest.getInstance("SHA-256")
    val buf = ByteArray(65536)
    var off = 0L
    while (off < len) {
      val n = minOf(buf.size.toLong(), len - off).toInt()
      fill(buf, off)
      md.update(buf, 0, n)
      off += n
    }
    return md.digest().joinToString("") { "%02x".format(it) }
  }

  @Test
  fun requestsAndResponses() {
    TestProvider(handler).use { p ->
      HttpipcCallFactory(p.address).use { f ->
        data class Case(val request: Request, val status: Int, val body: String, val header: Pair<String, String>? = null)
        val cases = listOf(
          Case(Request.Builder().url("http://localhost/hello").build(), 200, "hello\n", "content-type" to "text/plain"),
          Case(Request.Builder().url("http://lms:8080/whoami?x=1").header("X-A", "b").build(), 200, "GET http lms:8080 /whoami?x=1 b"),
          Case(Request.Builder().url("http://lms/echo").post("abc".toRequestBody("text/plain".toMediaType())).build(), 200, "abc"),
          Case(Request.Builder().url("http://lms/nothing").build(), 404, "404 page not found\n"),
          Case(Request.Builder().url("http://lms/hints").build(), 204, ""),
          Case(Request.Builder().url("http://lms/sized").head().build(), 200, "", "content-length" to "6"),
          Case(Request.Builder().url("http://lms/sized").build(), 200, "hello\n", "content-length" to "6"),
        )
        for (c in cases) {
          f.newCall(c.request).execute().use { r ->
            assertEquals(c.status, r.code, "${c.request}")
            assertEquals(c.body, r.body.string(), "${c.request}")
            c.header?.let { (n, v) -> assertEquals(v, r.header(n)) }
          }
        }
      }
    }
  }

  @Test
  fun trailersAndStreamedBodies() {
    TestProvider(handler).use { p ->
      HttpipcCallFactory(p.address).use { f ->
        // 16 MiB streamed to the provider, length unknown in advance.
        val up = object : RequestBody() {
          override fun contentType() = "application/octet-stream".toMediaType()

          override fun writeTo(sink: BufferedSink) {
            val buf = ByteArray(40_000)
            var off = 0L
            while (off < mib16) {
              val n = minOf(buf.size.toLong(), mib16 - off).toInt()
              fill(buf, off)
              sink.write(buf, 0, n)
              off += n
            }
          }
        }
        f.newCall(Request.Builder().url("http://lms/sum").post(up).build()).execute().use { r ->
          assertEquals("$mib16 ${digest(mib16)}", r.body.string())
        }
        // 16 MiB streamed back, with a trailer.
        f.newCall(Request.Builder().url("http://lms/big").build()).execute().use { r ->
          val md = MessageDigest.getInstance("SHA-256")
          val src = r.body.source()
          val buf = ByteArray(65536)
          var n = 0L
          while (true) {
            val k = src.read(buf)
            if (k < 0) break
            md.update(buf, 0, k)
            n += k
          }
          assertEquals(mib16, n)
          assertEquals(digest(mib16), md.digest().joinToString("") { "%02x".format(it) })
          assertEquals(mib16.toString(), r.trailers()["x-count"])
        }
        // An echo keeps the bytes and passes the trailer back.
        f.newCall(Request.Builder().url("http://lms/echo").put("x".repeat(100_000).toRequestBody()).build()).execute().use { r ->
          assertEquals(100_000, r.body.string().length)
          assertEquals("none", r.trailers()["x-echo-trailer"])
        }
      }
    }
  }

  @Test
  fun concurrentCalls() {
    TestProvider(handler).use { p ->
      HttpipcCallFactory(p.address).use { f ->
        val pool = Executors.newFixedThreadPool(64)
        try {
          val futures = (0 until 64).map { i ->
            pool.submit<String> {
              f.newCall(Request.Builder().url("http://lms/whoami?i=$i").build()).execute().use { it.body.string() }
            }
          }
          for ((i, fu) in futures.withIndex()) assertEquals("GET http lms /whoami?i=$i null", fu.get())
        } finally {
          pool.shutdownNow()
        }
      }
    }
  }

  @Test
  fun clientCancelsMidBody() {
    val started = CountDownLatch(1)
    val noticed = CountDownLatch(1)
    val h = HttpHandler { req, resp ->
      resp.body.write(ByteArray(1000))
      resp.body.flush()
      started.countDown()
      try {
        while (!req.isCancelled()) {
          resp.body.write(ByteArray(1000))
          resp.body.flush()
        }
      } catch (_: IOException) {
      }
      noticed.countDown()
    }
    TestProvider(h).use { p ->
      HttpipcCallFactory(p.address).use { f ->
        val call = f.newCall(Request.Builder().url("http://lms/stream").build())
        val r = call.execute()
        r.body.source().require(1000)
        started.await()
        call.cancel()
        assertFailsWith<IOException> { r.body.source().readByteArray() }
        assertTrue(noticed.await(30, TimeUnit.SECONDS), "the handler learns that the client went away")
      }
    }
  }

  @Test
  fun providerAbortsMidBody() {
    val cases = listOf<Pair<String, (TestProvider) -> Unit>>(
      "handler fails" to { _ -> throw IllegalStateException("boom") },
      "provider closed" to { p -> p.server.close() },
    )
    for ((name, abort) in cases) {
      lateinit var provider: TestProvider
      val h = HttpHandler { _, resp ->
        resp.headers["content-length"] = "100000"
        resp.body.write(ByteArray(5000))
        resp.body.flush()
        abort(provider)
      }
      TestProvider(h).use { p ->
        provider = p
        HttpipcCallFactory(p.address).use { f ->
          f.newCall(Request.Builder().url("http://lms/x").build()).execute().use { r ->
            val e = assertFailsWith<IOException>(name) { r.body.bytes() }
            assertTrue("provider closed the connection" in e.message!!, "$name: ${e.message}")
          }
        }
      }
    }
  }

  @Test
  fun refusalAndIdentity() {
    TestProvider(handler, IpcServerOptions.Builder().policy(Policies.allowUids(4242_4242)).build()).use { p ->
      HttpipcCallFactory(p.address).use { f ->
        val e = assertFailsWith<RefusedException> { f.newCall(Request.Builder().url("http://lms/hello").build()).execute() }
        assertTrue("not in the allowed uids" in e.reason, e.reason)
      }
      val strict = HttpipcClientOptions.Builder().providerPolicy(Policies.allowUids(4242_4242)).build()
      HttpipcCallFactory(p.address, strict).use { f ->
        assertFailsWith<ProviderIdentityException> { f.newCall(Request.Builder().url("http://lms/hello").build()).execute() }
      }
    }
    TestProvider(handler, IpcServerOptions.Builder().maxConnections(0).maxConnectionsPerUser(1).build()).use { p ->
      HttpipcCallFactory(p.address).use { f ->
        val held = io.github.httpipc.transport.UnixSockets.dial(p.socket) // holds the only connection of this user
        try {
          val e = assertFailsWith<RefusedException> { f.newCall(Request.Builder().url("http://lms/hello").build()).execute() }
          assertEquals("too many connections", e.reason)
        } finally {
          held.close()
        }
      }
    }
  }

  @Test
  fun informationalAndErrorsFromProvider() {
    TestProvider({ _, resp ->
      resp.informational(103, Fields("link" to "</a.css>"))
      resp.headers["content-type"] = "text/plain"
      resp.body.write("after hints".toByteArray())
    }).use { p ->
      HttpipcCallFactory(p.address).use { f ->
        f.newCall(Request.Builder().url("http://lms/").build()).execute().use { r ->
          assertEquals(200, r.code)
          assertEquals("after hints", r.body.string())
        }
        // A header the encoder refuses: the request fails locally, named.
        assertFailsWith<IllegalArgumentException> { Request.Builder().url("http://lms/").header("bad name", "x").build() }
      }
    }
    TestProvider({ _, _ -> throw IllegalStateException("boom") }).use { p ->
      HttpipcCallFactory(p.address).use { f ->
        f.newCall(Request.Builder().url("http://lms/").build()).execute().use { r ->
          assertEquals(500, r.code)
          assertEquals("handler-panic", r.header("httpipc-error"))
          assertEquals("internal server error\n", r.body.string())
        }
      }
    }
  }
}
