package io.github.httpipc.message

import io.github.httpipc.bhttp.BhttpVectorsTest.Companion.root
import io.github.httpipc.bhttp.MessageReader
import io.github.httpipc.bhttp.Varint
import org.json.JSONArray
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestFactory
import org.junit.jupiter.api.assertThrows
import java.io.ByteArrayInputStream
import java.io.File
import java.io.IOException
import java.util.HexFormat
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlin.concurrent.thread
import kotlin.test.assertContains
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue

class MuxTest {
  private val hex = HexFormat.of()

  /** A link that records what is sent and, when it has a peer, delivers it at once, through [filter]. */
  private class TestLink(override val maxMessageSize: Int = 64 * 1024) : Link {
    val sent = LinkedBlockingQueue<ByteArray>()
    var peer: Mux? = null
    var filter: (ByteArray) -> List<ByteArray> = { listOf(it) }

    @Volatile var closed = false

    override fun send(message: ByteArray) {
      if (closed) throw IOException("link closed")
      sent.add(message)
      for (m in filter(message)) peer?.receive(m)
    }

    override fun close() {
      closed = true
    }

    fun next(): String = hex(sent.poll(30, TimeUnit.SECONDS) ?: error("nothing sent"))

    fun hex(b: ByteArray) = HexFormat.of().formatHex(b)
  }

  private fun pair(options: MuxOptions = MuxOptions()): Triple<Mux, Mux, Pair<TestLink, TestLink>> {
    val a = TestLink()
    val b = TestLink()
    val client = Mux(a, true, options)
    val server = Mux(b, false, options)
    a.peer = server
    b.peer = client
    return Triple(client, server, a to b)
  }

  private fun muxVector() = JSONArray(File(root(), "message/testdata/mux-vectors.json").readText()).getJSONObject(0)

  private fun list(a: JSONArray) = (0 until a.length()).map { a.getString(it) }

  private fun payloads(frames: List<String>) =
    frames.filter { it.startsWith("00") }.joinToString("") { it.substring(6) }.let { hex.parseHex(it) }

  @Test
  fun vectorClientSide() {
    val v = muxVector()
    val want = list(v.getJSONArray("to_provider"))
    val link = TestLink()
    val mux = Mux(link, true, MuxOptions(chunkSize = 16))
    val s = mux.open()
    assertEquals(1, s.id)
    s.output.write(payloads(want))
    s.close()
    assertEquals(want, (want.indices).map { link.next() })
    // The stream carries the client preface and a request the codec decodes.
    val bytes = payloads(want)
    assertEquals("894950430d0a1a0a0101", hex.formatHex(bytes, 0, 10))
    val head = MessageReader(ByteArrayInputStream(bytes, 10, bytes.size - 10)).readRequestHead()!!
    assertEquals("GET http lms /hello", "${head.method} ${head.scheme} ${head.authority} ${head.path}")
    mux.close()
  }

  @Test
  fun vectorProviderSide() {
    val v = muxVector()
    val link = TestLink()
    val mux = Mux(link, false, MuxOptions(chunkSize = 16))
    for (f in list(v.getJSONArray("to_provider"))) mux.receive(hex.parseHex(f))
    val s = assertNotNull(mux.accept())
    assertContentEquals(payloads(list(v.getJSONArray("to_provider"))), s.input.readAllBytes())
    val want = list(v.getJSONArray("to_client"))
    val response = payloads(want)
    s.output.write(response)
    assertEquals(want, want.indices.map { link.next() })
    val r = MessageReader(ByteArrayInputStream(response, 9, response.size - 9))
    val head = r.readResponseHead(null)
    assertEquals(200, head.status)
    assertEquals("hello\n", String(r.content.readAllBytes()))
    mux.close()
  }

  @Test
  fun manyStreamsThroughTheWindow() {
    val (client, server, _) = pair()
    val data = ByteArray(1 shl 20) { (it * 31 + it / 7).toByte() }
    val echo = thread {
      val workers = (0 until 4).map {
        val s = server.accept()!!
        thread {
          s.input.transferTo(s.output)
          s.output.close()
        }
      }
      workers.forEach { it.join() }
    }
    val results = arrayOfNulls<ByteArray>(4)
    val clients = (0 until 4).map { i ->
      val s = client.open()
      val w = thread {
        s.output.write(data)
        s.output.close()
      }
      thread {
        results[i] = s.input.readAllBytes()
        w.join()
        s.close()
      }
    }
    clients.forEach { it.join() }
    echo.join()
    for (r in results) assertContentEquals(data, r)
    assertNull(client.error)
    assertNull(server.error)
    client.close()
    server.close()
  }

  /** Faults on the second DATA frame of stream 1: the stream fails alone, the channel goes on. */
  @TestFactory
  fun lostDuplicatedReordered(): List<DynamicTest> = listOf(
    "drop" to "lost or reordered",
    "duplicate" to "duplicated",
    "reorder" to "lost or reordered",
  ).map { (fault, want) ->
    DynamicTest.dynamicTest(fault) {
      val (client, server, links) = pair(MuxOptions(chunkSize = 4))
      var held: ByteArray? = null
      links.first.filter = { m ->
        val isData1 = m[0].toInt() == 0 && m[1].toInt() == 1
        when {
          !isData1 -> listOf(m)
          m[2].toInt() == 1 -> when (fault) {
            "drop" -> emptyList()
            "duplicate" -> listOf(m, m)
            else -> { held = m; emptyList() }
          }
          m[2].toInt() == 2 && held != null -> listOf(m, held!!)
          else -> listOf(m)
        }
      }
      val s1 = client.open()
      try {
        s1.output.write("abcdefghijkl".toByteArray())
      } catch (_: StreamBrokenException) {
        // The provider's RESET may arrive while the stream is still being written.
      }
      val p1 = server.accept()!!
      val e = assertThrows<StreamBrokenException> { p1.input.readAllBytes() }
      assertContains(e.message!!, want)
      // The provider's RESET reaches the client's stream.
      val e2 = assertThrows<StreamBrokenException> { s1.input.readAllBytes() }
      assertContains(e2.message!!, "peer reset stream 1")
      // Another stream still works.
      val s3 = client.open()
      s3.output.write("hello".toByteArray())
      s3.output.close()
      val p3 = server.accept()!!
      assertEquals("hello", String(p3.input.readAllBytes()))
      assertNull(client.error)
      assertNull(server.error)
      client.close()
      server.close()
    }
  }

  /** Frames that break the protocol close the whole channel with a clear error. */
  @TestFactory
  fun malformedFrames(): List<DynamicTest> = listOf(
    Triple("empty message", listOf(""), "empty message"),
    Triple("unknown type", listOf("040100"), "unknown frame type 4"),
    Triple("truncated header", listOf("0041"), "truncated frame header"),
    Triple("truncated seq", listOf("0001"), "truncated frame header"),
    Triple("huge varint header", listOf("00c0"), "truncated frame header"),
    Triple("DATA on stream 0", listOf("000000aa"), "frame type 0 on stream 0"),
    Triple("WINDOW on stream 1", listOf("03010000"), "frame type 3 on stream 1"),
    Triple("WINDOW beyond what was sent", listOf("03000010"), "bad window update"),
    Triple("WINDOW with trailing bytes", listOf("0300000000"), "bad window update"),
    Triple("WINDOW without payload", listOf("030000"), "bad window update"),
    Triple("FIN with payload", listOf("00010061", "010101ff"), "FIN frame with a payload"),
    Triple("past the window", listOf("000100" + "61".repeat(100), "000101" + "61".repeat(100)), "past the window of 128"),
  ).map { (name, frames, want) ->
    DynamicTest.dynamicTest(name) {
      val link = TestLink()
      val mux = Mux(link, false, MuxOptions(window = 128))
      for (f in frames) mux.receive(hex.parseHex(f))
      val err = assertNotNull(mux.error, "the channel is closed")
      assertTrue(err is MuxProtocolException)
      assertContains(err.message!!, want)
      assertTrue(link.closed)
      // accept() ends; an accepted stream sees the error.
      while (true) {
        val s = mux.accept() ?: break
        assertThrows<IOException> { s.input.readAllBytes() }
      }
    }
  }

  @Test
  fun resetReasonIsBounded() {
    val mux = Mux(TestLink(), false)
    mux.receive(hex.parseHex("000100"))
    mux.receive(hex.parseHex("020101") + ByteArray(2000) { 'x'.code.toByte() })
    val s = mux.accept()!!
    val e = assertThrows<StreamBrokenException> { s.input.read() }
    assertEquals("message: stream broken: peer reset stream 1: " + "x".repeat(512), e.message)
    mux.close()
  }

  @Test
  fun creditsAfterAQuarterOfTheWindowIsRead() {
    val link = TestLink()
    val mux = Mux(link, false, MuxOptions(window = 4096))
    mux.receive(hex.parseHex("000100") + ByteArray(600))
    mux.receive(hex.parseHex("000101") + ByteArray(600))
    val s = mux.accept()!!
    assertEquals(1000, s.input.readNBytes(1000).size) // below a quarter of the window: no credit yet
    assertEquals(100, s.input.readNBytes(100).size)
    assertEquals("030000" + hex.formatHex(Varint.encode(1100)), link.next())
    // Frames of a stream that is gone still count as consumed, with what it held unread.
    s.close()
    assertEquals("010100", link.next()) // FIN
    mux.receive(hex.parseHex("000102") + ByteArray(1000))
    assertEquals("030000" + hex.formatHex(Varint.encode(1100)), link.next())
    mux.close()
  }

  @Test
  fun clientRejectsStreamsItDidNotOpen() {
    val link = TestLink()
    val mux = Mux(link, true, MuxOptions(window = 4))
    mux.receive(hex.parseHex("00020061")) // stream 2: dropped, credited
    assertNull(mux.error)
    assertEquals("03000001", link.next())
    mux.close()
    assertNull(mux.accept())
    assertThrows<IOException> { mux.open() }
  }
}
