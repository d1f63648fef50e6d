package io.github.httpipc.bhttp

import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestFactory
import org.junit.jupiter.api.assertThrows
import java.io.ByteArrayInputStream
import java.io.ByteArrayOutputStream
import java.util.HexFormat
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNull
import kotlin.test.assertTrue

class CodecTest {
  private val hex = HexFormat.of()

  private fun req(fields: Fields = Fields(), path: String = "/") = Request("GET", "http", "lms", path, fields)

  /** Inputs that must fail with a given class, under the whole-message rules. */
  @TestFactory
  fun decodeErrors(): List<DynamicTest> {
    val big = "a".repeat(100)
    return listOf(
      Triple("empty input", ByteArray(0), "truncated"),
      Triple("control data field over 8 KiB", hex.parseHex("02" + "7fff"), "too-large"),
      Triple("head over the limit", Bhttp.encodeRequest(req(Fields("x" to big))), "too-large"),
      Triple("known-length section over the limit", hex.parseHex("00034745540468747470036c6d73012f" + "4100"), "too-large"),
      Triple("known-length field line past its section", hex.parseHex("00034745540468747470036c6d73012f" + "03" + "0178" + "05"), "malformed"),
      Triple("empty name in a known-length section", hex.parseHex("00034745540468747470036c6d73012f" + "02" + "0000"), "malformed"),
      Triple("uppercase name", Bhttp.encodeRequest(req()).let { hex.parseHex(hex.formatHex(it).dropLast(6) + "0158" + "0000" + "0000") }, "malformed"),
      Triple("pseudo-header", hex.parseHex("02034745540468747470036c6d73012f" + "053a70617468012f" + "00" + "0000"), "malformed"),
      Triple("value with LF", hex.parseHex("02034745540468747470036c6d73012f" + "0178" + "010a" + "00" + "0000"), "malformed"),
      Triple("value with DEL", hex.parseHex("02034745540468747470036c6d73012f" + "0178" + "017f" + "00" + "0000"), "malformed"),
      Triple("two content-length fields", hex.parseHex("02034745540468747470036c6d73012f" + "0e636f6e74656e742d6c656e6774680130" + "0e636f6e74656e742d6c656e6774680130" + "00" + "0000"), "malformed"),
      Triple("content-length with a sign", hex.parseHex("02034745540468747470036c6d73012f" + "0e636f6e74656e742d6c656e677468022b31" + "00" + "01610000"), "malformed"),
      Triple("content longer than content-length", hex.parseHex("02034745540468747470036c6d73012f" + "0e636f6e74656e742d6c656e6774680131" + "00" + "0261620000"), "malformed"),
      Triple("content shorter than content-length", hex.parseHex("02034745540468747470036c6d73012f" + "0e636f6e74656e742d6c656e6774680133" + "00" + "0261620000"), "malformed"),
      Triple("non-zero after the message", Bhttp.encodeRequest(req()) + byteArrayOf(0, 1), "malformed"),
      Triple("space in path", Bhttp.encodeRequest(req()).let { hex.parseHex(hex.formatHex(it).replace("012f", "022f20")) }, "malformed"),
      Triple("chunk running past the input", hex.parseHex("02034745540468747470036c6d73012f00" + "056162"), "truncated"),
    ).map { (name, bytes, want) ->
      DynamicTest.dynamicTest(name) {
        val e = assertThrows<BhttpException> { Bhttp.decodeRequest(bytes, Limits(64)) }
        assertEquals(want, e.kind.vectorName, e.message)
      }
    }
  }

  @TestFactory
  fun responseRules(): List<DynamicTest> {
    fun resp(status: Int, info: Int = 0) = Response(status, informational = List(info) { 103 to Fields("link" to "x") })
    return listOf(
      Triple("16 informational responses", Bhttp.encodeResponse(resp(200, 16)), ""),
      Triple("17 informational responses", Bhttp.encodeResponse(resp(200, 16)).let { hex.parseHex("03" + "406700".repeat(17) + "40c8000000") }, "too-large"),
      Triple("status 99", hex.parseHex("0340630000 00".replace(" ", "")), "malformed"),
      Triple("status 600", hex.parseHex("0342580000 00".replace(" ", "")), "malformed"),
      Triple("204 with content", hex.parseHex("0340cc00016100 00".replace(" ", "")), "malformed"),
      Triple("304 with content-length and no content", hex.parseHex("034130" + "0e636f6e74656e742d6c656e677468023130" + "00" + "0000"), ""),
      Triple("known-length 304 with content", hex.parseHex("01413000" + "0161" + "00"), "malformed"),
    ).map { (name, bytes, want) ->
      DynamicTest.dynamicTest(name) {
        val got = try {
          Bhttp.decodeResponse(bytes); ""
        } catch (e: BhttpException) {
          e.kind.vectorName
        }
        assertEquals(want, got)
      }
    }
  }

  @TestFactory
  fun writerRejects(): List<DynamicTest> = listOf(
    "empty name" to { Bhttp.encodeRequest(req(Fields("" to "x"))) },
    "name with space" to { Bhttp.encodeRequest(req(Fields("a b" to "x"))) },
    "pseudo-header" to { Bhttp.encodeRequest(req(Fields(":path" to "/"))) },
    "value with CR" to { Bhttp.encodeRequest(req(Fields("x" to "a\rb"))) },
    "value with NUL" to { Bhttp.encodeRequest(req(Fields("x" to "a\u0000"))) },
    "value with DEL" to { Bhttp.encodeRequest(req(Fields("x" to "\u007f"))) },
    "trailer with LF" to { Bhttp.encodeRequest(Request("GET", "http", "", "/", trailers = Fields("x" to "\n"))) },
    "empty method" to { Bhttp.encodeRequest(Request("", "http", "", "/")) },
    "method not a token" to { Bhttp.encodeRequest(Request("G T", "http", "", "/")) },
    "empty path" to { Bhttp.encodeRequest(Request("GET", "http", "", "")) },
    "path with space" to { Bhttp.encodeRequest(Request("GET", "http", "", "/a b")) },
    "status 199 as final" to { Bhttp.encodeResponse(Response(199)) },
    "status 101" to { Bhttp.encodeResponse(Response(200, informational = listOf(101 to Fields()))) },
  ).map { (name, block) ->
    DynamicTest.dynamicTest(name) { assertThrows<IllegalArgumentException> { block() } }
  }

  @Test
  fun writerSortsLowercasesAndDropsHopByHop() {
    val f = Fields("Zeta" to "1", "Accept" to "a", "connection" to "close", "zeta" to "2", "TE" to "trailers", "b" to "é")
    val msg = Bhttp.encodeRequest(Request("GET", "http", "lms", "/", f, trailers = Fields("te" to "kept")))
    val back = Bhttp.decodeRequest(msg)
    assertEquals(Fields("accept" to "a", "b" to "é", "zeta" to "1", "zeta" to "2"), back.fields)
    assertEquals(Fields("te" to "kept"), back.trailers)
  }

  @Test
  fun streamOfMessagesWithDiscardAndSkip() {
    val out = ByteArrayOutputStream()
    val w = MessageWriter(out)
    w.requestHead(RequestHead("POST", "http", "lms", "/a", Fields("content-length" to "100000")))
    val big = ByteArray(100000) { it.toByte() }
    w.chunk(big, 0, 60000)
    w.chunk(big, 60000, 40000)
    w.end(Fields("t" to "1"))
    w.requestHead(RequestHead("GET", "http", "lms", "/b"))
    w.end(null)
    w.requestHead(RequestHead("GET", "http", "lms", "/c"))
    w.chunk("xyz".toByteArray())
    w.end(null)
    w.flush()
    val r = MessageReader(ByteArrayInputStream(out.toByteArray()))
    assertEquals("/a", r.readRequestHead()!!.path)
    assertFalse(r.discard(1000))
    val r2 = MessageReader(ByteArrayInputStream(out.toByteArray()))
    assertEquals("/a", r2.readRequestHead()!!.path)
    val content = r2.content.readAllBytes()
    assertTrue(big.contentEquals(content))
    assertEquals(Fields("t" to "1"), r2.trailers())
    assertEquals("/b", r2.readRequestHead()!!.path)
    assertTrue(r2.skipEmptyContent())
    assertEquals("/c", r2.readRequestHead()!!.path)
    assertFalse(r2.skipEmptyContent())
    assertTrue(r2.discard(10))
    assertNull(r2.trailers())
    assertNull(r2.readRequestHead())
  }

  @Test
  fun streamRejectsPaddingAndTruncation() {
    val msg = Bhttp.encodeRequest(req())
    val padded = MessageReader(ByteArrayInputStream(msg + byteArrayOf(0)))
    padded.readRequestHead()
    padded.content.readAllBytes()
    // On a stream a zero is the framing indicator of a known-length request, which then ends.
    assertEquals("truncated", assertThrows<BhttpException> { padded.readRequestHead() }.kind.vectorName)
    val cut = MessageReader(ByteArrayInputStream(msg.copyOf(msg.size - 1)))
    cut.readRequestHead()
    assertEquals("truncated", assertThrows<BhttpException> { cut.content.readAllBytes() }.kind.vectorName)
  }

  @Test
  fun varints() {
    for (v in listOf(0L, 63, 64, 16383, 16384, (1L shl 30) - 1, 1L shl 30, Varint.MAX)) {
      val b = Varint.encode(v)
      assertEquals(Varint.size(v), b.size)
      assertEquals(v, Varint.decode(b, 0, b.size))
      assertEquals(v, Varint.read(ByteArrayInputStream(b)))
    }
    assertThrows<IllegalArgumentException> { Varint.size(Varint.MAX + 1) }
    assertEquals(-1, Varint.read(ByteArrayInputStream(ByteArray(0))))
  }

  @Test
  fun fieldsBasics() {
    val f = Fields().add("A", "1").add("b", "2").add("a", "3")
    assertEquals("1", f["a"])
    assertEquals(listOf("1", "3"), f.values("A"))
    assertEquals(setOf("a", "b"), f.names())
    f["A"] = "4"
    assertEquals(listOf("b" to "2", "a" to "4"), f.toList())
    f.remove("B")
    assertEquals(1, f.size)
  }
}
