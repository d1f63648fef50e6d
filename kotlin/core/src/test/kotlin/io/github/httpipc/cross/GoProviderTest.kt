package io.github.httpipc.cross

import io.github.httpipc.client.HttpipcCallFactory
import io.github.httpipc.client.RefusedException
import java.io.IOException
import java.io.InputStream
import java.security.MessageDigest
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import okhttp3.MediaType.Companion.toMediaType
import okhttp3.Request
import okhttp3.RequestBody
import okio.BufferedSink
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test

/**
 * The Kotlin client (OkHttp through [HttpipcCallFactory]) against a Go provider that
 * kotlin/kotlin_test.go serves while Maven runs, at the `unix:` addresses of the system
 * properties `httpipc.goProvider` (serves the API of that file's goHandler) and
 * `httpipc.goRefusing` (refuses every caller). Skipped without them. The test JVM has a 64 MiB
 * heap, so bodies of 256 MiB must stream.
 */
class GoProviderTest {
  private val served = System.getProperty("httpipc.goProvider")?.takeIf { it.isNotEmpty() }
  private val refusing = System.getProperty("httpipc.goRefusing")?.takeIf { it.isNotEmpty() }
  private lateinit var factory: HttpipcCallFactory

  @BeforeEach
  fun setUp() {
    assumeTrue(served != null, "set -Dhttpipc.goProvider (kotlin/kotlin_test.go does)")
    factory = HttpipcCallFactory(served!!)
  }

  @AfterEach
  fun tearDown() {
    if (this::factory.isInitialized) factory.close()
  }

  private fun get(path: String) = factory.newCall(Request.Builder().url("http://lms$path").build())

  @Test
  fun get() {
    get("/hello?name=kotlin").execute().use { r ->
      assertEquals(200, r.code)
      assertEquals("hello kotlin", r.body.string())
    }
  }

  /** 256 MiB up, then 256 MiB down, through a 64 MiB heap; 16 MiB each way is the smaller case. */
  @Test
  fun largeBodiesStream() {
    for (size in listOf(16L shl 20, 256L shl 20)) {
      val body = object : RequestBody() {
        override fun contentType() = "application/octet-stream".toMediaType()
        override fun contentLength() = -1L
        override fun writeTo(sink: BufferedSink) {
          val chunk = ByteArray(64 shl 10) { PATTERN[it % 16] }
          var left = size
          while (left > 0) {
            val k = minOf(left, chunk.size.toLong()).toInt()
            sink.write(chunk, 0, k)
            left -= k
          }
        }
      }
      factory.newCall(Request.Builder().url("http://lms/sum").post(body).build()).execute().use { r ->
        assertEquals("$size ${sha256(size)}", r.body.string(), "upload of $size bytes")
      }
      get("/bytes?n=$size").execute().use { r ->
        assertEquals(size, count(r.body.byteStream()), "download of $size bytes")
      }
    }
  }

  @Test
  fun concurrent64() {
    val pool = Executors.newFixedThreadPool(64)
    try {
      val results = (0 until 64).map { i -> pool.submit<String> { get("/hello?name=$i").execute().use { it.body.string() } } }
      results.forEachIndexed { i, f -> assertEquals("hello $i", f.get(1, TimeUnit.MINUTES)) }
    } finally {
      pool.shutdownNow()
    }
  }

  /** Cancelling mid-body ends the body at once and cancels the Go handler's context. */
  @Test
  fun cancelMidBody() {
    val call = get("/stall")
    val r = call.execute()
    val input = r.body.byteStream()
    assertEquals(64L shl 10, count(input, 64L shl 10))
    call.cancel()
    assertFailsWith<IOException> { count(input) }
    r.close()
    get("/stalled").execute().use { assertEquals("true", it.body.string(), "the Go handler saw its caller go") }
  }

  @Test
  fun informationalAndTrailers() {
    get("/hints").execute().use { r ->
      assertEquals(200, r.code)
      assertEquals("hinted", r.body.string())
      assertEquals("abc", r.trailers()["x-checksum"])
    }
  }

  @Test
  fun refused() {
    assumeTrue(refusing != null, "set -Dhttpipc.goRefusing")
    HttpipcCallFactory(refusing!!).use { f ->
      val e = assertFailsWith<RefusedException> { f.newCall(Request.Builder().url("http://lms/hello").build()).execute() }
      assertTrue("not in the allowed uids" in e.reason, e.reason)
    }
  }

  /** A Go provider killed mid-response fails the body read promptly, never a short body. */
  @Test
  fun providerKilledMidResponse() {
    val go = System.getProperty("httpipc.go")?.takeIf { it.isNotEmpty() }
    assumeTrue(go != null, "set -Dhttpipc.go")
    val release = java.util.concurrent.CountDownLatch(1)
    val upstream = com.sun.net.httpserver.HttpServer.create(java.net.InetSocketAddress("127.0.0.1", 0), 0)
    upstream.createContext("/stall") { ex ->
      ex.sendResponseHeaders(200, 0)
      ex.responseBody.write(ByteArray(64 shl 10))
      ex.responseBody.flush()
      release.await(1, TimeUnit.MINUTES)
      ex.close()
    }
    upstream.executor = Executors.newCachedThreadPool()
    upstream.start()
    val dir = java.nio.file.Files.createTempDirectory("kt")
    val sock = dir.resolve("s.sock")
    val serve = ProcessBuilder(go, "serve", "--listen", "unix:$sock", "--upstream", "http://127.0.0.1:${upstream.address.port}")
      .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start()
    try {
      val deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1)
      while (!java.nio.file.Files.exists(sock)) {
        check(System.nanoTime() < deadline) { "httpipc serve made no socket" }
        Thread.sleep(10)
      }
      HttpipcCallFactory("unix:$sock").use { f ->
        f.newCall(Request.Builder().url("http://lms/stall").build()).execute().use { r ->
          val input = r.body.byteStream()
          assertEquals(64L shl 10, count(input, 64L shl 10))
          serve.destroyForcibly()
          val reader = Executors.newSingleThreadExecutor()
          try {
            val read = reader.submit<Throwable?> { runCatching { count(input) }.exceptionOrNull() }
            val e = read.get(1, TimeUnit.MINUTES)
            assertTrue(e is IOException, "after the provider's death the body read gave $e, want an IOException")
          } finally {
            reader.shutdownNow()
          }
        }
      }
    } finally {
      serve.destroyForcibly()
      release.countDown()
      upstream.stop(0)
      dir.toFile().deleteRecursively()
    }
  }

  private companion object {
    val PATTERN = "0123456789abcdef".toByteArray()

    fun sha256(size: Long): String {
      val md = MessageDigest.getInstance("SHA-256")
      val chunk = ByteArray(64 shl 10) { PATTERN[it % 16] }
      var left = size
      while (left > 0) {
        val k = minOf(left, chunk.size.toLong()).toInt()
        md.update(chunk, 0, k)
        left -= k
      }
      return md.digest().joinToString("") { "%02x".format(it) }
    }

    fun count(input: InputStream, max: Long = Long.MAX_VALUE): Long {
      val buf = ByteArray(64 shl 10)
      var n = 0L
      while (n < max) {
        val k = input.read(buf, 0, minOf(buf.size.toLong(), max - n).toInt())
        if (k < 0) break
        n += k
      }
      return n
    }
  }
}
