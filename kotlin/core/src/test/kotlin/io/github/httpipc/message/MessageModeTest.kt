package io.github.httpipc.message

import io.github.httpipc.HttpHandler
import io.github.httpipc.PeerCredentials
import io.github.httpipc.Policy
import io.github.httpipc.bhttp.Bhttp
import io.github.httpipc.bhttp.BhttpVectorsTest.Companion.root
import io.github.httpipc.bhttp.ErrorResponse
import io.github.httpipc.bhttp.Fields
import io.github.httpipc.bhttp.Limits
import io.github.httpipc.bhttp.Request
import io.github.httpipc.bhttp.Response
import io.github.httpipc.client.IpcProtocolException
import io.github.httpipc.client.RefusedException
import org.json.JSONArray
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestFactory
import org.junit.jupiter.api.assertThrows
import java.io.File
import java.util.HexFormat
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertNull

class MessageModeTest {
  /** The handler message/testdata/vectors.json describes. */
  private val vectorHandler = HttpHandler { req, resp ->
    when ("${req.method} ${req.path}") {
      "GET /hello" -> {
        resp.headers["content-type"] = "text/plain"
        resp.body.write("hello\n".toByteArray())
      }
      "POST /echo" -> {
        resp.headers["content-type"] = "application/octet-stream"
        req.body.transferTo(resp.body)
      }
      else -> resp.status = 404
    }
  }

  private val allowAny = Policy { null }
  private val self = PeerCredentials(1000, 1000, 42)

  @TestFactory
  fun vectors(): List<DynamicTest> {
    val vectors = JSONArray(File(root(), "message/testdata/vectors.json").readText())
    val server = MessageServer(vectorHandler, allowAny)
    return (0 until vectors.length()).map { i ->
      val v = vectors.getJSONObject(i)
      DynamicTest.dynamicTest(v.getString("name")) {
        assertEquals("message", v.getString("mode"))
        val out = server.serveMessage(HexFormat.of().parseHex(v.getString("request")), self)
        assertEquals(v.getString("response"), HexFormat.of().formatHex(out))
      }
    }
  }

  private class Case(
    val name: String,
    val request: ByteArray,
    val handler: HttpHandler,
    val status: Int,
    val error: String? = null,
    val policy: Policy = Policy { null },
    val max: Int = MessageServer.DEFAULT_MAX_MESSAGE_SIZE,
    val limits: Limits = Limits(),
    val check: (Response) -> Unit = {},
  )

  private fun get(path: String, method: String = "GET", fields: Fields = Fields(), content: ByteArray = ByteArray(0)) =
    Bhttp.encodeRequest(Request(method, "http", "lms", path, fields, content))

  @TestFactory
  fun serverCases(): List<DynamicTest> {
    val ok = HttpHandler { _, resp -> resp.body.write("ok".toByteArray()) }
    val cases = listOf(
      Case("refused peer", get("/"), ok, 403, "forbidden", policy = { "not you" }) {
        assertEquals("not you\n", String(it.content))
        assertEquals(Fields("cache-control" to "no-store", "content-type" to "text/plain; charset=utf-8", "httpipc-error" to "forbidden"), it.fields)
      },
      Case("request over the message size", get("/", content = ByteArray(200)), ok, 413, "too-large", max = 100),
      Case("header over the limit", get("/", fields = Fields("x" to "y".repeat(200))), ok, 431, "too-large", limits = Limits(100)),
      Case("malformed", byteArrayOf(9), ok, 400, "malformed"),
      Case("not origin form", get("lms/x"), ok, 400, "malformed"),
      Case("handler throws", get("/"), { _, _ -> error("boom") }, 500, "handler-panic"),
      Case("response too large", get("/"), { _, r -> r.body.write(ByteArray(300)) }, 500, "response-too-large", max = 200),
      Case("response body fits, message does not", get("/"), { _, r -> r.body.write(ByteArray(190)) }, 500, "response-too-large", max = 200),
      Case("invalid field from handler", get("/"), { _, r -> r.headers.add("x", "a\nb") }, 500, "invalid-response"),
      Case("content-length added", get("/"), ok, 200) {
        assertEquals("2", it.fields["content-length"])
        assertEquals("ok", String(it.content))
      },
      Case("wrong content-length from handler", get("/"), { _, r -> r.headers["content-length"] = "5"; r.body.write(1) }, 500, "invalid-response"),
      Case("HEAD keeps the handler's content-length and drops the body", get("/", "HEAD"), { _, r ->
        r.headers["content-length"] = "10"
        r.body.write(ByteArray(10))
      }, 200) {
        assertEquals("10", it.fields["content-length"])
        assertEquals(0, it.content.size)
      },
      Case("HEAD without content-length gets none", get("/", "HEAD"), ok, 200) { assertNull(it.fields["content-length"]) },
      Case("304 keeps its content-length", get("/"), { _, r -> r.status = 304; r.headers["content-length"] = "7" }, 304) {
        assertEquals("7", it.fields["content-length"])
      },
      Case("204 has no content-length", get("/"), { _, r -> r.status = 204; r.body.write(1) }, 204) {
        assertNull(it.fields["content-length"])
      },
      Case("informational, trailers and request details", get("/x?y=1", "POST", Fields("host" to "h", "a" to "1"), "abc".toByteArray()), { req, r ->
        r.informational(103, Fields("link" to "</a>"))
        r.trailers["t"] = "done"
        r.body.write("${req.method} ${req.authority} ${req.path} ${req.headers["host"]} ${req.headers["a"]} ${String(req.body.readAllBytes())} ${req.peer?.uid}".toByteArray())
      }, 200) {
        assertEquals(listOf(103 to Fields("link" to "</a>")), it.informational)
        assertEquals("POST lms /x?y=1 null 1 abc 1000", String(it.content))
        assertEquals(Fields("t" to "done"), it.trailers)
      },
      Case("host field stands in for an empty authority", Bhttp.encodeRequest(Request("GET", "http", "", "/", Fields("host" to "h"))), { req, r ->
        r.body.write(req.authority.toByteArray())
      }, 200) { assertEquals("h", String(it.content)) },
    )
    return cases.map { c ->
      DynamicTest.dynamicTest(c.name) {
        val server = MessageServer(c.handler, c.policy, c.max, c.limits)
        val out = server.serveMessage(c.request, self)
        val head = String(c.request, Charsets.ISO_8859_1).contains("HEAD")
        val resp = if (head) Bhttp.decodeHeadResponse(out) else Bhttp.decodeResponse(out)
        assertEquals(c.status, resp.status)
        assertEquals(c.error, resp.fields["httpipc-error"])
        if (c.error != null) {
          assertEquals(3, out[0].toInt(), "generated responses use indeterminate length")
          assertNull(resp.fields["content-length"])
          assertEquals('\n', String(resp.content).last())
        }
        c.check(resp)
      }
    }
  }

  @Test
  fun transportRoundTrip() {
    val server = MessageServer(vectorHandler, allowAny)
    val t = MessageTransport({ server.serveMessage(it, self) })
    val resp = t.execute(Request("POST", "http", "lms", "/echo", content = "abcd".toByteArray()))
    assertEquals(200, resp.status)
    assertContentEquals("abcd".toByteArray(), resp.content)
    assertEquals("4", resp.fields["content-length"])
  }

  @Test
  fun transportReportsRefusalsAsOnAStream() {
    val req = Request("GET", "http", "lms", "/")
    val refusing = MessageServer(vectorHandler, Policy { "uid 4242 is not admitted" })
    val e = assertThrows<RefusedException> { MessageTransport({ refusing.serveMessage(it, self) }).execute(req) }
    assertEquals("uid 4242 is not admitted", e.reason)
    val overCap = MessageTransport({ ErrorResponse.encode(503, ErrorResponse.TOO_MANY, "too many connections") })
    assertEquals("too many connections", assertThrows<RefusedException> { overCap.execute(req) }.reason)
    // The API's own 403, without httpipc-error, is a response.
    val api = MessageTransport({ Bhttp.encodeResponse(Response(403, content = "no".toByteArray())) })
    assertEquals(403, api.execute(req).status)
    val garbage = MessageTransport({ byteArrayOf(9, 9, 9) })
    assertThrows<IpcProtocolException> { garbage.execute(req) }
  }

  @Test
  fun transportRefusesLargeRequestsBeforeSending() {
    val t = MessageTransport({ error("must not be called") }, maxMessageSize = 100)
    assertThrows<MessageTooLargeException> { t.execute(Request("POST", "http", "lms", "/echo", content = ByteArray(101))) }
    assertThrows<MessageTooLargeException> { t.execute(Request("POST", "http", "lms", "/echo", content = ByteArray(95))) }
  }
}
