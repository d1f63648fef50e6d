package io.github.httpipc

import io.github.httpipc.bhttp.Bhttp
import io.github.httpipc.bhttp.BhttpException
import io.github.httpipc.bhttp.MessageReader
import io.github.httpipc.message.Link
import io.github.httpipc.message.Mux
import io.github.httpipc.message.MuxOptions
import io.github.httpipc.server.IpcServer
import java.io.ByteArrayInputStream
import java.io.ByteArrayOutputStream
import java.io.Closeable
import java.io.File
import java.io.IOException
import java.io.OutputStream
import kotlin.random.Random
import kotlin.test.fail
import org.json.JSONArray
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.TestFactory

/**
 * Feeds every decoder inputs made by mutating the shared vectors (flipped and inserted bytes,
 * extreme varints, cuts, splices), the way Go's fuzz targets are seeded: the Binary HTTP decoders
 * (whole messages and streams), the stream provider (a whole connection), and the multiplexer's
 * frames. A decoder may refuse an input only with the exceptions its API names, and must not
 * run out of the test JVM's 64 MiB heap. The seed is fixed, so a failure repeats; set
 * `-Dhttpipc.fuzz.iterations=N` for a longer run (default 3000 per target) and
 * `-Dhttpipc.fuzz.seed=S` for other inputs.
 */
class FuzzTest {
  private val iterations = System.getProperty("httpipc.fuzz.iterations")?.toIntOrNull() ?: 3000
  private val seed = System.getProperty("httpipc.fuzz.seed")?.toLongOrNull() ?: 9292

  private val root = File(System.getProperty("httpipc.root") ?: error("system property httpipc.root is not set"))

  private fun hexes(file: String, vararg keys: String): List<ByteArray> {
    val a = JSONArray(File(root, file).readText())
    val out = ArrayList<ByteArray>()
    for (i in 0 until a.length()) {
      val o = a.getJSONObject(i)
      for (k in keys) {
        if (!o.has(k)) continue
        when (val v = o.get(k)) {
          is String -> out += v.unhex()
          is JSONArray -> for (j in 0 until v.length()) out += v.getString(j).unhex()
        }
      }
    }
    return out
  }

  private fun mutate(r: Random, seeds: List<ByteArray>): ByteArray {
    var b = seeds[r.nextInt(seeds.size)].copyOf()
    repeat(1 + r.nextInt(4)) {
      b = when (r.nextInt(6)) {
        0 -> if (b.isEmpty()) b else b.also { it[r.nextInt(it.size)] = r.nextInt(256).toByte() }
        1 -> { // insert a random or extreme byte run
          val at = r.nextInt(b.size + 1)
          val ins = when (r.nextInt(3)) {
            0 -> byteArrayOf(0xff.toByte(), 0xff.toByte(), 0xff.toByte(), 0xff.toByte(), 0xff.toByte(), 0xff.toByte(), 0xff.toByte(), 0xff.toByte())
            1 -> byteArrayOf(0x80.toByte(), 0x01, 0x00, 0x00)
            else -> ByteArray(1 + r.nextInt(8)) { r.nextInt(256).toByte() }
          }
          b.copyOfRange(0, at) + ins + b.copyOfRange(at, b.size)
        }
        2 -> b.copyOfRange(0, r.nextInt(b.size + 1)) // cut
        3 -> { // splice with another seed
          val o = seeds[r.nextInt(seeds.size)]
          b.copyOfRange(0, r.nextInt(b.size + 1)) + o.copyOfRange(r.nextInt(o.size + 1), o.size)
        }
        4 -> if (b.size < 2) b else b.copyOfRange(0, b.size / 2) + b // repeat a part
        else -> b + b // two messages
      }
    }
    return b
  }

  private fun target(name: String, seeds: List<ByteArray>, run: (ByteArray) -> Unit): DynamicTest =
    DynamicTest.dynamicTest(name) {
      val r = Random(seed + name.hashCode())
      repeat(iterations) {
        val input = mutate(r, seeds)
        try {
          run(input)
        } catch (e: IOException) {
          // BhttpException and the stream's own failures: an input refused with a reason.
          if (e.message.isNullOrEmpty()) fail("$name: an IOException without a reason for ${input.hex()}", e)
        } catch (e: IllegalArgumentException) {
          fail("$name: ${e} for input ${input.hex()}", e)
        } catch (e: OutOfMemoryError) {
          fail("$name: out of memory for input ${input.hex()}")
        } catch (e: RuntimeException) {
          fail("$name: $e for input ${input.hex()}", e)
        }
      }
    }

  @TestFactory
  fun decoders(): List<DynamicTest> {
    val messages = hexes("bhttp/testdata/vectors.json", "hex") + hexes("message/testdata/vectors.json", "request", "response")
    val connections = hexes("testdata/protocol-vectors.json", "client")
    val frames = hexes("message/testdata/mux-vectors.json", "to_provider", "to_client")
    val server = IpcServer(vectorHandler(), io.github.httpipc.server.IpcServerOptions.Builder().policy(Policies.allowAny()).build())
    return listOf(
      target("Bhttp.decodeRequest", messages) { Bhttp.decodeRequest(it) },
      target("Bhttp.decodeResponse", messages) { Bhttp.decodeResponse(it) },
      target("MessageReader (stream)", messages) { b ->
        val r = MessageReader(ByteArrayInputStream(b))
        while (true) {
          r.readRequestHead() ?: break
          r.content.readAllBytes()
          r.trailers()
        }
      },
      target("IpcServer.serveConnection", connections) { b ->
        val out = BoundedOutput(8 shl 20)
        server.serveConnection(ByteArrayInputStream(b), out, PeerCredentials(0), Closeable {})
      },
      target("Mux.receive", frames.ifEmpty { listOf(byteArrayOf(0, 1, 0, 0x61)) }) { b ->
        val mux = Mux(NullLink(), false, MuxOptions(chunkSize = 16))
        try {
          mux.receive(b)
          mux.receive(b)
        } finally {
          mux.close()
        }
      },
    )
  }

  /** Swallows what a provider answers, failing past [max] bytes (an unbounded answer). */
  private class BoundedOutput(private val max: Int) : OutputStream() {
    private var n = 0L
    override fun write(b: Int) = write(byteArrayOf(b.toByte()), 0, 1)
    override fun write(b: ByteArray, off: Int, len: Int) {
      n += len
      if (n > max) throw AssertionError("the provider answered more than $max bytes")
    }
  }

  /** A link that drops what the mux sends. */
  private class NullLink : Link {
    override val maxMessageSize: Int = 64 * 1024
    override fun send(message: ByteArray) {}
    override fun close() {}
  }
}
