package io.github.httpipc.server

import io.github.httpipc.HttpHandler
import io.github.httpipc.Policies
import io.github.httpipc.TestProvider
import io.github.httpipc.hex
import io.github.httpipc.notFound
import io.github.httpipc.transport.UnixSockets
import io.github.httpipc.unhex
import io.github.httpipc.vectorHandler
import java.nio.ByteBuffer
import java.nio.file.Files
import java.nio.file.Path
import org.json.JSONArray
import org.junit.jupiter.api.Test
import kotlin.test.assertEquals
import kotlin.test.assertTrue

/** Replays every entry of testdata/protocol-vectors.json against the Kotlin provider. */
class ProtocolVectorsTest {
  private fun replay(handler: HttpHandler, client: ByteArray): ByteArray {
    TestProvider(handler, IpcServerOptions.Builder().policy(Policies.allowAny()).build()).use { p ->
      UnixSockets.dial(p.socket).use { ch ->
        val buf = ByteBuffer.wrap(client)
        while (buf.hasRemaining()) ch.write(buf)
        ch.shutdownOutput()
        val out = java.io.ByteArrayOutputStream()
        val r = ByteBuffer.allocate(8192)
        while (true) {
          r.clear()
          val n = try { ch.read(r) } catch (_: java.io.IOException) { -1 }
          if (n < 0) break
          out.write(r.array(), 0, n)
        }
        return out.toByteArray()
      }
    }
  }

  /**
   * Compares exactly, with one allowance: the text line of a response the provider generates
   * (protocol section 4) "names the problem" and its wording is not specified, so two providers
   * may word it differently; everything else of such a response must be equal.
   */
  private fun check(name: String, got: String, want: String, failures: MutableList<String>) {
    if (got == want) return
    val g = errorText(got.unhex())
    val w = errorText(want.unhex())
    if (g != null && w != null && g.first.contentEquals(w.first)) {
      println("NOTICE $name: the error text differs (allowed): \"${g.second}\", Go: \"${w.second}\"")
      return
    }
    failures.add("$name: provider answered\n$got\nwant\n$want")
  }

  /** Splits a connection's bytes that end in a generated error response into (rest, text). */
  private fun errorText(b: ByteArray): Pair<ByteArray, String>? {
    if (!b.hex().contains("httpipc-error".toByteArray().hex())) return null
    // ... 00 <varint len> <text ending in LF> 00 00
    if (b.size < 4 || b[b.size - 1].toInt() != 0 || b[b.size - 2].toInt() != 0 || b[b.size - 3].toInt() != 0x0a) return null
    for (start in b.size - 3 downTo 1) {
      val len = b.size - 2 - start
      val hdr = io.github.httpipc.bhttp.Varint.encode(len.toLong())
      val at = start - hdr.size
      if (at >= 0 && b.copyOfRange(at, start).contentEquals(hdr) && (at == 0 || b[at - 1].toInt() == 0)) {
        return b.copyOf(at) to String(b, start, len - 1, Charsets.UTF_8)
      }
    }
    return null
  }

  @Test
  fun vectors() {
    val root = System.getProperty("httpipc.root")?.takeIf { it.isNotEmpty() } ?: "../.."
    val file = Path.of(root, "testdata/protocol-vectors.json")
    val vectors = JSONArray(Files.readString(file))
    assertTrue(vectors.length() > 0)
    val failures = ArrayList<String>()
    for (i in 0 until vectors.length()) {
      val v = vectors.getJSONObject(i)
      val name = v.getString("name")
      val client = v.getString("client").unhex()
      val want = v.getString("server")
      val got = replay(vectorHandler(), client).hex()
      check(name, got, want, failures)
      if (v.optBoolean("handler_independent")) {
        check("$name (handler independent)", replay({ _, resp -> notFound(resp) }, client).hex(), want, failures)
      }
    }
    assertEquals(emptyList(), failures, failures.joinToString("\n"))
  }
}
