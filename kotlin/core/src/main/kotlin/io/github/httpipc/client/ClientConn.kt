package io.github.httpipc.client

import io.github.httpipc.bhttp.BhttpException
import io.github.httpipc.bhttp.Fields
import io.github.httpipc.bhttp.Limits
import io.github.httpipc.bhttp.MessageReader
import io.github.httpipc.bhttp.MessageWriter
import io.github.httpipc.bhttp.RequestHead
import io.github.httpipc.bhttp.Varint
import io.github.httpipc.stream.Deadline
import io.github.httpipc.stream.PeekInput
import io.github.httpipc.stream.Wire
import io.github.httpipc.stream.closeQuietly
import java.io.BufferedOutputStream
import java.io.IOException
import java.net.SocketTimeoutException
import java.time.Duration
import java.util.concurrent.CompletableFuture
import java.util.concurrent.atomic.AtomicBoolean
import okhttp3.Headers
import okhttp3.MediaType.Companion.toMediaTypeOrNull
import okhttp3.Protocol
import okhttp3.Request
import okhttp3.Response
import okhttp3.ResponseBody
import okhttp3.ResponseBody.Companion.toResponseBody
import okhttp3.TrailersSource
import okio.Buffer
import okio.BufferedSource
import okio.Sink
import okio.Source
import okio.Timeout
import okio.buffer

/** A failure after which the request may be sent again on a new connection (protocol section 7, Retries). */
internal class RetryableException(val failure: IOException, val notSent: Boolean) : IOException(failure.message, failure)

/** One connection of an [HttpipcCallFactory]; it carries one request at a time. */
internal class ClientConn(private val ch: StreamConnection, maxHeaderBytes: Int, private val pool: ConnectionPool) {
  private val input = PeekInput(ch.input)
  private val out = BufferedOutputStream(ch.output, Wire.CHUNK_SIZE + 16)
  private val writer = MessageWriter(out)
  private val reader = MessageReader(input, Limits(maxHeaderBytes))
  private val readDeadline = Deadline { ch.close() }
  private val writeDeadline = Deadline { ch.close() }
  private var prefaceSent = false
  private var prefaceRead = false
  var reused = false
  var idleSince = System.nanoTime()

  fun close() = ch.closeQuietly()

  /** Whether the provider has not closed this idle connection (nothing to read, no end). */
  fun alive(): Boolean {
    if (input.hasPending || reader.bufferedBytes() > 0) return false
    return ch.isOpen()
  }

  /** Sends [req] and reads the head of its response; the body streams from the connection. */
  fun exchange(req: Request, readTimeout: Duration, writeTimeout: Duration, canceled: AtomicBoolean): Response {
    val body = req.body
    val fields = Fields()
    for ((n, v) in req.headers) if (!n.equals("host", ignoreCase = true)) fields.add(n, v)
    var length = -1L
    if (body != null) {
      body.contentType()?.let { if ("content-type" !in fields) fields.add("content-type", it.toString()) }
      length = body.contentLength()
    }
    val url = req.url
    val defaultPort = if (url.scheme == "https") 443 else 80
    val authority = req.header("Host") ?: if (url.port == defaultPort) url.host else "${url.host}:${url.port}"
    val path = url.encodedPath + (url.encodedQuery?.let { "?$it" } ?: "")
    val head = RequestHead(req.method, url.scheme, authority, path, fields, if (length > 0) length else -1)
    val inline = body == null || (!body.isDuplex() && !body.isOneShot() && length in 0..INLINE_BODY_MAX)
    try {
      if (!prefaceSent) out.write(Wire.clientPreface())
      writer.requestHead(head)
      if (inline && body != null) {
        val b = Buffer()
        body.writeTo(b)
        if (b.size != length) throw IOException("httpipc: request body has ${b.size} bytes, its content length says $length")
        writer.chunk(b.readByteArray())
      }
      if (inline) writer.end()
    } catch (e: IllegalArgumentException) {
      close()
      throw IOException("httpipc: invalid request: ${e.message}", e)
    }
    val sentAt = System.currentTimeMillis()
    try {
      writeDeadline.within(writeTimeout) { writer.flush() }
      prefaceSent = true
    } catch (e: IOException) {
      prefaceSent = true
      if (canceled.get()) throw IOException("Canceled", e)
      ch.closedBecause?.let { close(); throw it }
      if (!prefaceRead) {
        // A provider refuses before reading anything, so the write can fail with its
        // refusal waiting to be read (protocol section 6).
        try {
          readDeadline.within(Duration.ofSeconds(1)) { readPreface() }
        } catch (r: RefusedException) {
          throw r
        } catch (_: IOException) {
        }
      }
      throw RetryableException(IOException("httpipc: sending request: ${e.message}", e), notSent = false)
    }
    var writeDone: CompletableFuture<Throwable?>? = null
    if (!inline) {
      val f = CompletableFuture<Throwable?>()
      writeDone = f
      val t = Thread({
        f.complete(
          try {
            val sink = ChunkSink(writeTimeout).buffer()
            body!!.writeTo(sink)
            sink.emit()
            writer.end()
            writeDeadline.within(writeTimeout) { writer.flush() }
            null
          } catch (e: Throwable) {
            // Leave the message incomplete: the provider sees the request fail.
            close()
            e
          },
        )
      }, "httpipc-request-body")
      t.isDaemon = true
      t.start()
    }

    fun fail(e: Throwable): Nothing {
      close()
      if (canceled.get()) throw IOException("Canceled", e)
      ch.closedBecause?.let { throw it }
      val bodyErr = writeDone?.let { if (it.isDone) it.join() else null }
      if (bodyErr != null && bodyErr !is IOException) {
        throw IOException("httpipc: writing the request body: $bodyErr", bodyErr)
      }
      if (readDeadline.expired) throw SocketTimeoutException("timeout")
      if (e is IOException) throw e
      throw IOException(e)
    }

    // One deadline for the wait for the response and its head.
    readDeadline.start(readTimeout)
    val got = try {
      input.awaitByte()
    } catch (e: IOException) {
      readDeadline.stop()
      if (canceled.get() || readDeadline.expired) fail(e)
      close()
      ch.closedBecause?.let { throw it }
      throw RetryableException(IOException("httpipc: provider closed the connection before responding: ${e.message}", e), notSent = false)
    }
    if (!got) {
      readDeadline.stop()
      close()
      if (canceled.get()) throw IOException("Canceled")
      ch.closedBecause?.let { throw it }
      throw RetryableException(IOException("httpipc: provider closed the connection before responding"), notSent = false)
    }
    val rh = try {
      if (!prefaceRead) readPreface()
      if (req.method == "HEAD") reader.expectHeadResponse()
      reader.readResponseHead(null)
    } catch (e: IOException) {
      readDeadline.stop()
      fail(mapError(e, "reading the response"))
    }
    readDeadline.stop()
    val headers = Headers.Builder()
    for ((n, v) in rh.fields) headers.addUnsafeNonAscii(n, v)
    val built = headers.build()
    val state = BodyState()
    val contentType = built["content-type"]?.toMediaTypeOrNull()
    val contentLength = if (rh.contentLength >= 0) rh.contentLength else built["content-length"]?.toLongOrNull() ?: -1L
    val respBody: ResponseBody
    if (req.method == "HEAD" || reader.skipEmptyContent()) {
      if (req.method == "HEAD") {
        try {
          readDeadline.within(readTimeout) {
            if (!reader.skipEmptyContent() && reader.content.read(ByteArray(1)) >= 0) {
              throw IpcProtocolException("response to HEAD has content")
            }
          }
        } catch (e: IOException) {
          fail(mapError(e, "reading the response"))
        }
      }
      state.trailers = reader.trailers()
      state.done = true
      release(writeDone)
      respBody = ByteArray(0).toResponseBody(contentType)
    } else {
      val source = ContentSource(state, readTimeout, canceled, writeDone).buffer()
      respBody = object : ResponseBody() {
        override fun contentType() = contentType
        override fun contentLength() = contentLength
        override fun source(): BufferedSource = source
      }
    }
    return Response.Builder()
      .request(req)
      .protocol(Protocol.HTTP_1_1)
      .code(rh.status)
      .message(reasonPhrase(rh.status))
      .headers(built)
      .body(respBody)
      .trailers(object : TrailersSource {
        override fun peek(): Headers? = if (state.done) toHeaders(state.trailers) else null

        override fun get(): Headers {
          check(state.done) { "trailers are available once the response body has been read to its end" }
          return toHeaders(state.trailers)
        }
      })
      .sentRequestAtMillis(sentAt)
      .receivedResponseAtMillis(System.currentTimeMillis())
      .build()
  }

  private fun toHeaders(f: Fields?): Headers {
    val b = Headers.Builder()
    if (f != null) for ((n, v) in f) b.addUnsafeNonAscii(n, v)
    return b.build()
  }

  private class BodyState {
    @Volatile var done = false
    @Volatile var trailers: Fields? = null
  }

  /** Returns the connection to the pool after a whole response, unless it is out of step. */
  private fun release(writeDone: CompletableFuture<Throwable?>?) {
    val ok = writeDone == null || (writeDone.isDone && writeDone.join() == null)
    // A response complete before the request content was sent whole: stop sending and close
    // (protocol section 7, Sequencing).
    if (ok) pool.put(this) else close()
  }

  /** Reads the server preface that precedes the first response. */
  private fun readPreface() {
    val p = input.readUpTo(Wire.PREFACE_LEN + 1)
    if (p.size < Wire.PREFACE_LEN + 1) {
      throw IpcProtocolException("reading the server preface: the connection ended after ${p.size} bytes")
    }
    if (!p.copyOf(Wire.PREFACE_LEN).contentEquals(Wire.MAGIC)) {
      throw IpcProtocolException("the peer did not answer with the httpipc preface (got ${Wire.hex(p)}); is it an httpipc provider?")
    }
    val v = p[Wire.PREFACE_LEN].toInt() and 0xff
    if (v == Wire.REFUSED) {
      val reason = try {
        val n = Varint.read(input)
        if (n > Wire.MAX_REFUSAL_REASON) null
        else input.readUpTo(n.toInt()).takeIf { it.size.toLong() == n }?.toString(Charsets.UTF_8)
      } catch (_: IOException) {
        null
      }
      throw RefusedException(reason ?: "(no reason given)")
    }
    if (v < Wire.MIN_VERSION || v > Wire.VERSION) {
      throw IpcProtocolException("provider chose protocol version $v, which was not offered")
    }
    prefaceRead = true
  }

  private fun mapError(e: IOException, what: String): IOException = ch.closedBecause ?: when {
    e is RefusedException || e is IpcProtocolException -> e
    readDeadline.expired -> SocketTimeoutException("timeout")
    e is BhttpException && e.kind == BhttpException.Kind.TRUNCATED ->
      IOException("httpipc: provider closed the connection while $what (${e.message})", e)
    e is BhttpException -> IpcProtocolException("${e.message}", e)
    else -> IOException("httpipc: $what: ${e.message ?: e.javaClass.simpleName}", e)
  }

  /** The response content, read from the connection as the caller asks. */
  private inner class ContentSource(
    private val state: BodyState,
    private val readTimeout: Duration,
    private val canceled: AtomicBoolean,
    private val writeDone: CompletableFuture<Throwable?>?,
  ) : Source {
    private val buf = ByteArray(16 * 1024)
    private var failure: IOException? = null
    private var closed = false

    override fun read(sink: Buffer, byteCount: Long): Long {
      check(!closed) { "closed" }
      failure?.let { throw it }
      if (state.done) return -1
      if (byteCount == 0L) return 0
      val want = minOf(byteCount, buf.size.toLong()).toInt()
      val n = try {
        // Content already buffered is read without arming a deadline.
        if (reader.content.available() > 0) reader.content.read(buf, 0, want)
        else readDeadline.within(readTimeout) { reader.content.read(buf, 0, want) }
      } catch (e: IOException) {
        close()
        val mapped = if (canceled.get()) IOException("Canceled", e) else mapError(e, "reading the response body")
        failure = mapped
        throw mapped
      }
      if (n < 0) {
        state.trailers = reader.trailers()
        state.done = true
        release(writeDone)
        return -1
      }
      sink.write(buf, 0, n)
      return n.toLong()
    }

    override fun timeout(): Timeout = Timeout.NONE

    /** Closing before the end closes the connection, which cancels the request on the provider. */
    override fun close() {
      if (closed) return
      closed = true
      if (!state.done) this@ClientConn.close()
    }
  }

  /** Writes request content as chunks of at most 32 KiB, under the write timeout. */
  private inner class ChunkSink(private val writeTimeout: Duration) : Sink {
    private val buf = ByteArray(Wire.CHUNK_SIZE)

    override fun write(source: Buffer, byteCount: Long) {
      var left = byteCount
      while (left > 0) {
        val n = source.read(buf, 0, minOf(left, buf.size.toLong()).toInt())
        writeDeadline.within(writeTimeout) { writer.chunk(buf, 0, n) }
        left -= n
      }
    }

    override fun flush() {
      writeDeadline.within(writeTimeout) { writer.flush() }
    }

    override fun timeout(): Timeout = Timeout.NONE

    override fun close() {}
  }

  companion object {
    /** The largest request body of known length written together with the head. */
    const val INLINE_BODY_MAX = 64L * 1024

    private val PHRASES = mapOf(
      100 to "Continue", 103 to "Early Hints", 200 to "OK", 201 to "Created", 202 to "Accepted", 204 to "No Content",
      206 to "Partial Content", 301 to "Moved Permanently", 302 to "Found", 303 to "See Other", 304 to "Not Modified",
      307 to "Temporary Redirect", 308 to "Permanent Redirect", 400 to "Bad Request", 401 to "Unauthorized",
      403 to "Forbidden", 404 to "Not Found", 405 to "Method Not Allowed", 406 to "Not Acceptable", 408 to "Request Timeout",
      409 to "Conflict", 410 to "Gone", 411 to "Length Required", 412 to "Precondition Failed",
      413 to "Request Entity Too Large", 414 to "Request URI Too Long", 415 to "Unsupported Media Type",
      418 to "I'm a teapot", 422 to "Unprocessable Entity", 425 to "Too Early", 428 to "Precondition Required",
      429 to "Too Many Requests", 431 to "Request Header Fields Too Large", 500 to "Internal Server Error",
      501 to "Not Implemented", 502 to "Bad Gateway", 503 to "Service Unavailable", 504 to "Gateway Timeout",
      505 to "HTTP Version Not Supported",
    )

    /** The reason phrase Go's net/http uses for [status], or "". */
    fun reasonPhrase(status: Int): String = PHRASES[status] ?: ""
  }
}

/** Idle connections kept for reuse, newest first. */
internal class ConnectionPool(private val max: Int, private val idleTimeout: Duration) {
  private val idle = ArrayDeque<ClientConn>()

  /** An idle connection that still looks alive, or null. */
  fun get(): ClientConn? {
    while (true) {
      val c = synchronized(this) { idle.removeLastOrNull() } ?: return null
      val idleFor = System.nanoTime() - c.idleSince
      if (idleFor > idleTimeout.toNanos() || (idleFor > PEEK_AFTER_NANOS && !c.alive())) {
        c.close()
        continue
      }
      c.reused = true
      return c
    }
  }

  fun put(c: ClientConn) {
    c.idleSince = System.nanoTime()
    val keep = synchronized(this) { if (idle.size < max) idle.addLast(c).let { true } else false }
    if (!keep) c.close()
  }

  fun evictAll() {
    val all = synchronized(this) { idle.toList().also { idle.clear() } }
    for (c in all) c.close()
  }

  private companion object {
    /** How long a connection must have been idle before it is checked for a close. */
    const val PEEK_AFTER_NANOS = 50_000_000L
  }
}
