package io.github.httpipc.cross

import com.sun.net.httpserver.HttpServer
import io.github.httpipc.HttpHandler
import io.github.httpipc.Policies
import io.github.httpipc.TestProvider
import io.github.httpipc.client.HttpipcCallFactory
import io.github.httpipc.server.IpcServerOptions
import java.net.InetSocketAddress
import java.nio.file.Files
import java.util.concurrent.TimeUnit
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

/**
 * The Kotlin client against the Go provider (`httpipc serve`) and the Go client
 * (`httpipc call`) against the Kotlin provider. The Go command is named by the system property
 * `httpipc.go`; without it these tests are skipped.
 */
class CrossImplementationTest {
  private val go: String? = System.getProperty("httpipc.go")?.takeIf { it.isNotEmpty() }

  private class Result(val exit: Int, val stdout: String, val stderr: String)

  private fun goCall(vararg args: String): Result {
    val p = ProcessBuilder(listOf(go!!, "call") + args).start()
    p.outputStream.close()
    val out = p.inputStream.readBytes().toString(Charsets.UTF_8)
    val err = p.errorStream.readBytes().toString(Charsets.UTF_8)
    assertTrue(p.waitFor(60, TimeUnit.SECONDS))
    return Result(p.exitValue(), out, err)
  }

  private val kotlinHandler = HttpHandler { req, resp ->
    when (req.path) {
      "/hello" -> {
        resp.headers["content-type"] = "text/plain"
        resp.body.write("hello\n".toByteArray())
      }
      "/echo" -> {
        resp.headers["content-type"] = "application/octet-stream"
        resp.body.write(req.body.readBytes())
        resp.trailers["x-sum"] = "9"
      }
      else -> io.github.httpipc.notFound(resp)
    }
  }

  @Test
  fun goClientAgainstKotlinProvider() {
    assumeTrue(go != null, "set -Dhttpipc.go to the Go httpipc command")
    TestProvider(kotlinHandler).use { p ->
      data class Case(val args: List<String>, val exit: Int, val stdout: String, val stderr: String = "")
      val cases = listOf(
        Case(listOf(p.address, "/hello"), 0, "hello\n"),
        Case(listOf("-d", "abc", p.address, "/echo"), 0, "abc"),
        Case(
          listOf("-i", "-d", "abc", p.address, "/echo"), 0,
          "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\nabcX-Sum: 9\r\n",
        ),
        Case(listOf("--fail", p.address, "/missing"), 22, "404 page not found\n", "the provider answered 404 Not Found"),
      )
      for (c in cases) {
        val r = goCall(*c.args.toTypedArray())
        assertEquals(c.exit, r.exit, "${c.args}: ${r.stderr}")
        assertEquals(c.stdout, r.stdout, "${c.args}")
        assertTrue(c.stderr in r.stderr, "${c.args}: ${r.stderr}")
      }
    }
    TestProvider(kotlinHandler, IpcServerOptions.Builder().policy(Policies.allowUids(4242_4242)).build()).use { p ->
      val r = goCall(p.address, "/hello")
      assertEquals(1, r.exit)
      assertTrue("connection refused by provider" in r.stderr && "not in the allowed uids" in r.stderr, r.stderr)
    }
  }

  @Test
  fun kotlinClientAgainstGoProvider() {
    assumeTrue(go != null, "set -Dhttpipc.go to the Go httpipc command")
    val upstream = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0)
    upstream.createContext("/") { ex ->
      val body = ex.requestBody.readBytes()
      val answer = if (ex.requestURI.path == "/hello") "hello\n".toByteArray() else body
      ex.responseHeaders.add("Content-Type", "text/plain")
      ex.sendResponseHeaders(if (ex.requestURI.path == "/missing") 404 else 200, answer.size.toLong().takeIf { it > 0 } ?: -1)
      ex.responseBody.use { it.write(answer) }
    }
    upstream.start()
    val dir = Files.createTempDirectory("httpipc-cross")
    val sock = dir.resolve("go.sock")
    val proc = ProcessBuilder(go, "serve", "--listen", "unix:$sock", "--upstream", "http://127.0.0.1:${upstream.address.port}").start()
    try {
      // The Go command logs "serving" once it listens.
      val log = proc.errorStream.bufferedReader()
      while (true) {
        val line = log.readLine() ?: error("httpipc serve exited")
        if ("serving" in line) break
      }
      Thread { log.readText() }.apply { isDaemon = true }.start()
      HttpipcCallFactory("unix:$sock").use { f ->
        f.newCall(Request.Builder().url("http://localhost/hello").build()).execute().use { r ->
          assertEquals(200, r.code)
          assertEquals("hello\n", r.body.string())
        }
        val big = ByteArray(3 shl 20) { (it % 251).toByte() }
        f.newCall(Request.Builder().url("http://localhost/echo").post(big.toRequestBody()).build()).execute().use { r ->
          assertTrue(big.contentEquals(r.body.bytes()))
        }
        f.newCall(Request.Builder().url("http://localhost/missing").build()).execute().use { r ->
          assertEquals(404, r.code)
          assertEquals(null, r.header("httpipc-error"))
        }
        upstream.stop(0)
        f.newCall(Request.Builder().url("http://localhost/hello").build()).execute().use { r ->
          assertEquals(502, r.code)
          assertEquals("upstream-failed", r.header("httpipc-error"))
        }
      }
      // The Go provider refuses a client its policy does not admit... which needs another
      // user; instead the Kotlin client refuses a provider it does not trust.
      HttpipcCallFactory("unix:$sock", io.github.httpipc.client.HttpipcClientOptions.Builder()
        .providerPolicy(Policies.allowUids(4242_4242)).build()).use { f ->
        assertFailsWith<io.github.httpipc.client.ProviderIdentityException> {
          f.newCall(Request.Builder().url("http://localhost/hello").build()).execute()
        }
      }
    } finally {
      proc.destroy()
      proc.waitFor(10, TimeUnit.SECONDS)
      upstream.stop(0)
      dir.toFile().deleteRecursively()
    }
  }
}
