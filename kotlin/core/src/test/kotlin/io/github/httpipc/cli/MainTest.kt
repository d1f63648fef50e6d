package io.github.httpipc.cli

import io.github.httpipc.TestProvider
import io.github.httpipc.vectorHandler
import java.io.ByteArrayOutputStream
import java.io.PrintStream
import java.util.concurrent.TimeUnit
import org.junit.jupiter.api.Test
import kotlin.test.assertEquals
import kotlin.test.assertTrue

/** The JVM command against the behaviour of the Go command (compared live when `httpipc.go` is set). */
class MainTest {
  private data class Out(val exit: Int, val stdout: String, val stderr: String)

  private fun kotlin(args: List<String>): Out {
    val out = ByteArrayOutputStream()
    val err = ByteArrayOutputStream()
    val code = run(args, PrintStream(out, true), PrintStream(err, true))
    return Out(code, out.toString(Charsets.UTF_8), err.toString(Charsets.UTF_8))
  }

  private fun go(args: List<String>): Out? {
    val go = System.getProperty("httpipc.go")?.takeIf { it.isNotEmpty() } ?: return null
    val p = ProcessBuilder(listOf(go) + args).start()
    p.outputStream.close()
    val o = p.inputStream.readBytes().toString(Charsets.UTF_8)
    val e = p.errorStream.readBytes().toString(Charsets.UTF_8)
    p.waitFor(60, TimeUnit.SECONDS)
    return Out(p.exitValue(), o, e)
  }

  @Test
  fun callMatchesTheGoCommand() {
    TestProvider(vectorHandler()).use { p ->
      data class Case(val args: List<String>, val exit: Int, val stdout: String?, val stderrHas: String, val compareStdout: Boolean = true)
      val a = p.address
      val cases = listOf(
        Case(listOf("call", a, "/hello"), 0, "hello\n", ""),
        Case(listOf("call", "-i", a, "/hello"), 0, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello\n", ""),
        Case(listOf("call", a, "/hello", "-i"), 0, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello\n", ""),
        Case(listOf("call", "-d", "xy", "-H", "X-Trailer: no", a, "/echo"), 0, "xy", ""),
        Case(listOf("call", "--fail", a, "/nothing"), 22, "404 page not found\n", "the provider answered 404 Not Found"),
        Case(listOf("call", "-X", "GET", a, "/nothing"), 0, "404 page not found\n", ""),
        Case(listOf("call"), 2, "", "want ADDR and PATH, got 0 arguments"),
        Case(listOf("call", a, "nopath"), 2, "", "PATH \"nopath\" must start with /"),
        Case(listOf("call", "-H", "bad", a, "/x"), 2, "", "-H \"bad\" is not 'Name: value'"),
        Case(listOf("call", "unix:/nonexistent/p.sock", "/x"), 1, "", "provider not running"),
        Case(listOf("serve"), 2, "", "--listen and --upstream are required"),
        Case(listOf("serve", "--listen", "unix:/tmp/x.sock", "--upstream", "ftp://x"), 2, "", "is not an http:// or https:// URL"),
        Case(listOf("serve", "--listen", "unix:/tmp/x.sock", "--upstream", "http://x", "--allow-uid", "abc"), 2, "", "--allow-uid \"abc\" is not a user id"),
        Case(listOf("serve", "--listen", "unix:/tmp/x.sock", "--upstream", "http://x", "extra"), 2, "", "unexpected argument \"extra\""),
        Case(listOf("nosuch"), 2, "", "unknown command \"nosuch\""),
        Case(listOf("call", "--help"), 0, "", "Usage: httpipc call", compareStdout = true),
      )
      val failures = ArrayList<String>()
      for (c in cases) {
        val k = kotlin(c.args)
        if (k.exit != c.exit) failures.add("${c.args}: exit ${k.exit}, want ${c.exit}; ${k.stderr}")
        if (c.stdout != null && k.stdout != c.stdout) failures.add("${c.args}: stdout ${k.stdout.quoted()}, want ${c.stdout.quoted()}")
        if (c.stderrHas !in k.stderr) failures.add("${c.args}: stderr ${k.stderr.quoted()} lacks ${c.stderrHas.quoted()}")
        val g = go(c.args) ?: continue
        if (g.exit != k.exit) failures.add("${c.args}: Go exits ${g.exit}, Kotlin ${k.exit}")
        if (c.compareStdout && g.stdout != k.stdout) failures.add("${c.args}: Go prints ${g.stdout.quoted()}, Kotlin ${k.stdout.quoted()}")
      }
      assertTrue(failures.isEmpty(), failures.joinToString("\n"))
    }
  }

  @Test
  fun flagsAndDurations() {
    val f = Flags("t", "", "")
    f.string("X", "")
    f.bool("i", "")
    assertEquals(listOf("a", "b"), f.parseInterleaved(listOf("-X", "PUT", "a", "--i", "b")))
    assertEquals("PUT", f.value("X"))
    assertTrue(f.flag("i"))
    assertEquals(listOf("-z"), Flags("t", "", "").parseInterleaved(listOf("--", "-z")))
    assertEquals(java.time.Duration.ofSeconds(90), parseGoDuration("1m30s"))
    assertEquals(java.time.Duration.ofMillis(250), parseGoDuration("250ms"))
    assertEquals(null, parseGoDuration("30"))
    assertEquals("X-Echo-Trailer", canonical("x-echo-trailer"))
  }

  private fun String.quoted() = "\"" + replace("\r", "\\r").replace("\n", "\\n") + "\""
}
