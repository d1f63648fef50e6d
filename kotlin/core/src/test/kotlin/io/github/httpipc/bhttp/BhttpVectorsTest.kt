package io.github.httpipc.bhttp

import org.json.JSONArray
import org.json.JSONObject
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.TestFactory
import java.io.ByteArrayInputStream
import java.io.File
import java.util.HexFormat
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlin.test.fail

/** Checks the codec against bhttp/testdata/vectors.json, the file the Go tests use. */
class BhttpVectorsTest {
  @TestFactory
  fun vectors(): List<DynamicTest> {
    val vectors = JSONArray(File(root(), "bhttp/testdata/vectors.json").readText())
    assertTrue(vectors.length() > 0)
    return (0 until vectors.length()).map { i ->
      val v = vectors.getJSONObject(i)
      DynamicTest.dynamicTest(v.getString("name")) { check(v) }
    }
  }

  private fun check(v: JSONObject) {
    val bytes = HexFormat.of().parseHex(v.getString("hex"))
    val kind = v.getString("kind")
    val wantError = v.optString("error", "")
    if (v.getString("mode") == "stream") {
      assertEquals(wantError, errorClass { decodeStream(bytes, kind) }, "on a stream")
    }
    var decoded: Any? = null
    val err = errorClass {
      decoded = when (kind) {
        "request" -> Bhttp.decodeRequest(bytes)
        "response" -> Bhttp.decodeResponse(bytes)
        "head-response" -> Bhttp.decodeHeadResponse(bytes)
        else -> fail("unknown kind $kind")
      }
    }
    assertEquals(wantError, err, "held whole")
    if (wantError.isNotEmpty()) return
    val m = v.getJSONObject("message")
    if (kind == "request") {
      val r = decoded as Request
      assertEquals(m.optString("method"), r.method)
      assertEquals(m.optString("scheme"), r.scheme)
      assertEquals(m.optString("authority"), r.authority)
      assertEquals(m.optString("path"), r.path)
      assertFields(m.optJSONArray("header"), r.fields, "header")
      assertEquals(m.optString("content"), String(r.content, Charsets.UTF_8))
      assertFields(m.optJSONArray("trailer"), r.trailers, "trailer")
    } else {
      val r = decoded as Response
      assertEquals(m.getInt("status"), r.status)
      val info = m.optJSONArray("informational") ?: JSONArray()
      assertEquals(info.length(), r.informational.size, "informational responses")
      for (i in 0 until info.length()) {
        assertEquals(info.getJSONObject(i).getInt("status"), r.informational[i].first)
        assertFields(info.getJSONObject(i).optJSONArray("header"), r.informational[i].second, "informational header")
      }
      assertFields(m.optJSONArray("header"), r.fields, "header")
      assertEquals(m.optString("content"), String(r.content, Charsets.UTF_8))
      assertFields(m.optJSONArray("trailer"), r.trailers, "trailer")
    }
    if (v.optBoolean("encode")) {
      val encoded = if (kind == "request") Bhttp.encodeRequest(toRequest(m)) else Bhttp.encodeResponse(toResponse(m))
      assertEquals(v.getString("hex"), HexFormat.of().formatHex(encoded), "encoding")
    }
  }

  /** Decodes [bytes] as one message on a stream that must end exactly at the end of the bytes. */
  private fun decodeStream(bytes: ByteArray, kind: String) {
    val r = MessageReader(ByteArrayInputStream(bytes))
    if (kind == "request") {
      r.readRequestHead() ?: throw BhttpException.truncated("framing indicator")
    } else {
      if (kind == "head-response") r.expectHeadResponse()
      r.readResponseHead(null)
    }
    r.content.readAllBytes()
    if (r.bufferedBytes() > 0) throw BhttpException.malformed("${r.bufferedBytes()} bytes after the message")
    // The reader is at the start of the next message: the clean end of the stream.
    if (kind == "request") assertEquals(null, r.readRequestHead())
  }

  companion object {
    fun root(): File = File(System.getProperty("httpipc.root") ?: error("system property httpipc.root is not set"))

    fun errorClass(block: () -> Unit): String = try {
      block()
      ""
    } catch (e: BhttpException) {
      e.kind.vectorName
    }

    fun fields(a: JSONArray?): Fields {
      val f = Fields()
      if (a != null) for (i in 0 until a.length()) f.add(a.getJSONArray(i).getString(0), a.getJSONArray(i).getString(1))
      return f
    }

    /** Compares as the protocol does: the order of lines of different names carries no meaning. */
    fun assertFields(want: JSONArray?, got: Fields?, what: String) {
      val w = fields(want)
      val g = got ?: Fields()
      assertEquals(w.names().sorted(), g.names().sorted(), what)
      for (n in w.names()) assertEquals(w.values(n), g.values(n), "$what $n")
    }

    fun toRequest(m: JSONObject) = Request(
      m.optString("method"), m.optString("scheme"), m.optString("authority"), m.optString("path"),
      fields(m.optJSONArray("header")), m.optString("content").toByteArray(), fields(m.optJSONArray("trailer")),
    )

    fun toResponse(m: JSONObject): Response {
      val info = m.optJSONArray("informational") ?: JSONArray()
      return Response(
        m.getInt("status"), fields(m.optJSONArray("header")), m.optString("content").toByteArray(),
        fields(m.optJSONArray("trailer")),
        (0 until info.length()).map { info.getJSONObject(it).getInt("status") to fields(info.getJSONObject(it).optJSONArray("header")) },
      )
    }
  }
}
