package io.github.httpipc.server

import io.github.httpipc.PeerCredentials
import io.github.httpipc.Policies
import io.github.httpipc.ServerRequest
import io.github.httpipc.ServerResponse
import io.github.httpipc.bhttp.BhttpException
import io.github.httpipc.bhttp.Fields
import io.github.httpipc.bhttp.Limits
import io.github.httpipc.bhttp.MessageReader
import io.github.httpipc.bhttp.MessageWriter
import io.github.httpipc.bhttp.RequestHead
import io.github.httpipc.stream.Deadline
import io.github.httpipc.stream.PeekInput
import io.github.httpipc.stream.PrefixedOutput
import io.github.httpipc.stream.Wire
import io.github.httpipc.stream.closeQuietly
import java.io.Closeable
import java.io.IOException
import java.io.InputStream
import java.io.OutputStream
import java.time.Duration
import java.util.concurrent.CompletableFuture
import java.util.logging.Level

/** The stream protocol on one connection of an [IpcServer]. */
internal class ServerConn(
  private val srv: IpcServer,
  input: InputStream,
  private val rawOutput: OutputStream,
  val peer: PeerCredentials?,
  private val closer: Closeable,
  private val shutdownInput: (() -> Unit)?,
) : Closeable {
  // Guarded by the server's lock.
  var busy = false
  var everBusy = false

  val deadline = Deadline { closer.close() }
  private val input = PeekInput(input)
  private val options = srv.options
  private lateinit var reader: MessageReader
  lateinit var writer: MessageWriter
  private val remote = Policies.describe(peer)

  // Watching for the client going away while a handler runs (see StreamRequest.cancelled).
  private val watchLock = Object()
  private var watch: CompletableFuture<Boolean>? = null

  override fun close() = closer.close()

  fun run() {
    val policy = options.policy
    if (peer != null) {
      val reason = policy.check(peer)
      if (reason != null) {
        refusePeer(reason)
        return
      }
    }
    deadline.start(options.prefaceTimeout)
    val got = try {
      input.awaitByte()
    } catch (_: IOException) {
      false
    }
    if (!got) {
      if (deadline.stop()) srv.log.info("httpipc: closing a connection that sent nothing (peer $remote)")
      return
    }
    val first = input.peeked()
    if (peer == null) {
      val reason = policy.check(null)
      if (reason != null) {
        deadline.stop()
        srv.log.warning("httpipc: peer refused: $remote: $reason")
        if (first == 0x89) refuse(reason) else refuseHttp1(403, reason)
        return
      }
    }
    if (first != 0x89) {
      deadline.stop()
      srv.log.warning("httpipc: unknown protocol from $remote, first byte $first")
      refuseHttp1(400, "expected the httpipc preface; this provider does not serve HTTP/1.1")
      return
    }
    srv.setBusy(this, true)
    if (!readPreface()) return
    writer = MessageWriter(PrefixedOutput(rawOutput, Wire.serverPreface()))
    reader = MessageReader(input, Limits(options.maxHeaderBytes))
    var firstRequest = true
    while (true) {
      // Between requests the connection is idle, and so is one that sent only its preface.
      val idle = !firstRequest || (reader.bufferedBytes() == 0 && !input.hasPending)
      firstRequest = false
      if (idle) srv.setBusy(this, false)
      if (!waitRequest()) return
      if (idle) srv.setBusy(this, true)
      val head = try {
        deadline.within(options.readHeaderTimeout) { reader.readRequestHead() } ?: return
      } catch (e: IOException) {
        protocolError(e)
        return
      }
      if (!serveRequest(head)) return
    }
  }

  /** A peer the policy refuses: answered in its protocol, if it speaks within a second. */
  private fun refusePeer(reason: String) {
    srv.log.warning("httpipc: peer refused: $remote (uid ${peer?.uid ?: -1}, pid ${peer?.pid ?: -1}): $reason")
    val soft = Deadline { (shutdownInput ?: closer::close)() }
    val first = try {
      soft.within(Duration.ofSeconds(1)) { if (input.awaitByte()) input.peeked() else -1 }
    } catch (_: IOException) {
      -1
    }
    if (first < 0 || first == 0x89) refuse(reason) else refuseHttp1(403, reason)
  }

  /** Sends a refusal preface after reading what the client sent of its own preface. */
  private fun refuse(reason: String) {
    srv.log.warning("httpipc: connection refused: peer $remote: $reason")
    try {
      deadline.within(Duration.ofSeconds(1)) {
        if (input.hasPending) input.read()
        rawOutput.write(Wire.refusal(reason))
        rawOutput.flush()
      }
    } catch (_: IOException) {
    }
  }

  private fun refuseHttp1(code: Int, reason: String) {
    val text = if (code == 403) "Forbidden" else "Bad Request"
    val body = (reason + "\n").toByteArray(Charsets.UTF_8)
    val head = "HTTP/1.1 $code $text\r\nContent-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n" +
      "Connection: close\r\nContent-Length: ${body.size}\r\n\r\n"
    try {
      deadline.within(Duration.ofSeconds(1)) {
        rawOutput.write(head.toByteArray(Charsets.ISO_8859_1) + body)
        rawOutput.flush()
      }
    } catch (_: IOException) {
    }
  }

  /** Reads and checks the client preface, under the deadline started at accept. */
  private fun readPreface(): Boolean {
    val p = try {
      input.readUpTo(Wire.PREFACE_LEN + 2)
    } catch (_: IOException) {
      deadline.stop()
      return false
    }
    if (deadline.stop()) return false
    if (p.size < Wire.PREFACE_LEN + 2) {
      val n = minOf(p.size, Wire.PREFACE_LEN)
      if (!p.copyOf(n).contentEquals(Wire.MAGIC.copyOf(n))) refuse("bad preface")
      return false
    }
    val magic = p.copyOf(Wire.PREFACE_LEN)
    if (!magic.contentEquals(Wire.MAGIC)) {
      refuse("bad preface ${Wire.hex(magic)}")
      return false
    }
    val lo = p[8].toInt() and 0xff
    val hi = p[9].toInt() and 0xff
    if (lo > hi || hi < Wire.MIN_VERSION || lo > Wire.VERSION) {
      refuse("unsupported protocol versions $lo-$hi; this provider speaks ${Wire.MIN_VERSION}-${Wire.VERSION}")
      return false
    }
    return true
  }

  /** Waits for the next request to begin, at most the idle timeout; false when none will. */
  private fun waitRequest(): Boolean {
    val w = synchronized(watchLock) { watch.also { watch = null } }
    if (w != null) return !w.join()
    if (reader.bufferedBytes() > 0 || input.hasPending) return true
    return try {
      deadline.within(options.connectionIdleTimeout) { input.awaitByte() }
    } catch (_: IOException) {
      false
    }
  }

  /** Answers a request whose head could not be decoded, then the connection closes. */
  private fun protocolError(e: IOException) {
    if (deadline.expired) {
      srv.log.info("httpipc: closing a connection whose request head is late (peer $remote)")
      return
    }
    if (e !is BhttpException) return
    val (status, code) = when (e.kind) {
      BhttpException.Kind.MALFORMED -> 400 to "malformed"
      BhttpException.Kind.TOO_LARGE -> 431 to "too-large"
      BhttpException.Kind.TRUNCATED -> return // nobody is left to answer
    }
    srv.log.warning("httpipc: bad request from $remote: ${e.message}")
    writeError(false, status, code, e.message ?: "bad request")
  }

  fun writeError(started: Boolean, status: Int, code: String, message: String) {
    try {
      deadline.within(Duration.ofSeconds(1)) {
        Wire.errorResponse(writer, started, status, code, message)
        writer.flush()
      }
    } catch (_: IOException) {
    }
  }

  /** Runs the handler for one request; reports whether the connection can carry another. */
  private fun serveRequest(head: RequestHead): Boolean {
    if (head.path != "*" && !head.path.startsWith("/")) {
      writeError(false, 400, "malformed", "path \"${head.path}\" is not in origin form")
      return false
    }
    val fields = head.fields
    var host = head.authority
    if ("host" in fields) {
      if (host.isEmpty()) host = fields["host"] ?: ""
      fields.remove("host")
    }
    val empty = reader.skipEmptyContent()
    val req = StreamRequest(this, head, host, fields, if (empty) null else reader)
    val resp = StreamResponse(this, req)
    req.response = resp
    synchronized(watchLock) { watch = null }
    try {
      srv.log.fine { "httpipc: ${head.method} ${head.path} from $remote" }
      srv.handlerOf().handle(req, resp)
    } catch (t: Throwable) {
      if (t is IOException && resp.headSent) {
        // Most often the client went away mid-response: not the handler's fault.
        srv.log.fine { "httpipc: response aborted: ${head.method} ${head.path} (peer $remote): ${t.message}" }
      } else {
        srv.log.log(Level.WARNING, "httpipc: handler failed: ${head.method} ${head.path} (peer $remote)", t)
      }
      if (!resp.headSent) writeError(resp.started, 500, "handler-panic", "internal server error")
      return false
    } finally {
      req.handlerDone = true
    }
    if (!resp.finish()) return false
    return req.finishBody()
  }

  /** Starts watching for the client going away, once the request has been read whole. */
  fun startWatch(): CompletableFuture<Boolean> = synchronized(watchLock) {
    watch ?: CompletableFuture<Boolean>().also { f ->
      watch = f
      if (reader.bufferedBytes() > 0 || input.hasPending) {
        f.complete(false) // the client sent more: it is there
      } else {
        val t = Thread({
          val gone = try {
            !input.awaitByte()
          } catch (_: IOException) {
            true
          }
          f.complete(gone)
        }, "httpipc-watch")
        t.isDaemon = true
        t.start()
      }
    }
  }

  fun optionsOf(): IpcServerOptions = options

  fun srvLog(message: String) = srv.log.warning(message)
}

/** A request being served: its body reads from the connection as the handler asks. */
internal class StreamRequest(
  private val conn: ServerConn,
  head: RequestHead,
  host: String,
  override val headers: Fields,
  private val reader: MessageReader?,
) : ServerRequest {
  override val method: String = head.method
  override val scheme: String = head.scheme
  override val authority: String = host
  override val path: String = head.path
  override val peer: PeerCredentials? get() = conn.peer
  lateinit var response: StreamResponse
  @Volatile var handlerDone = false

  private var read = 0L
  private var failure: IOException? = null
  @Volatile private var done = reader == null
  private var trailerFields: Fields? = null

  private val optionsMax: Long get() = conn.optionsOf().maxRequestBodyBytes

  override val body: InputStream = object : InputStream() {
    override fun read(): Int {
      val b = ByteArray(1)
      return if (read(b, 0, 1) < 0) -1 else b[0].toInt() and 0xff
    }

    override fun read(b: ByteArray, off: Int, len: Int): Int = readBody(b, off, len)
  }

  @Synchronized
  private fun readBody(b: ByteArray, off: Int, len0: Int): Int {
    failure?.let { throw it }
    if (done) return -1
    if (len0 == 0) return 0
    val limit = optionsMax
    var len = len0
    if (limit > 0 && len > limit - read + 1) len = (limit - read + 1).toInt()
    val n = try {
      reader!!.content.read(b, off, len)
    } catch (e: IOException) {
      failure = e
      // The request's own fault, found while the handler reads: answered
      // for the handler if it has not answered (PROTOCOL.md section 4).
      if (e is BhttpException) {
        when (e.kind) {
          BhttpException.Kind.TOO_LARGE -> response.badBody(431, "too-large", e.message ?: "too large")
          BhttpException.Kind.MALFORMED -> response.badBody(400, "malformed", e.message ?: "malformed")
          else -> {}
        }
      }
      throw e
    }
    if (n < 0) {
      done = true
      trailerFields = reader!!.trailers()
      return -1
    }
    read += n
    if (limit > 0 && read > limit) {
      val e = IOException("request body larger than $limit bytes")
      failure = e
      response.badBody(413, "too-large", "request body larger than $limit bytes")
      throw e
    }
    return n
  }

  override fun trailers(): Fields? = trailerFields

  /** Whether the client went away; starts the watch once the request was read whole. */
  fun cancelled(): Boolean {
    if (handlerDone) return false
    synchronized(this) { if (!done || failure != null) return failure != null }
    val w = conn.startWatch()
    return w.isDone && w.join()
  }

  /** After the handler: makes sure the request was read whole, dropping up to 256 KiB. */
  @Synchronized
  fun finishBody(): Boolean {
    if (failure != null || response.bodyTooLarge) return false
    if (done) return true
    return reader!!.discard(Wire.MAX_DRAIN_BYTES)
  }
}

/** Encodes what a handler writes as one response message. */
internal class StreamResponse(private val conn: ServerConn, private val req: StreamRequest) : ServerResponse {
  override var status: Int = 200
  override val headers = Fields()
  override val trailers = Fields()
  var started = false
  var headSent = false
  private var noBody = false
  private var declared = -1L
  private var written = 0L
  var bodyTooLarge = false
  private var ended = false
  private val w get() = conn.writer

  override fun informational(status: Int, headers: Fields) {
    check(!headSent) { "the final head was sent already" }
    require(status in 100..199 && status != 101) { "informational status $status" }
    if (!started) {
      w.responseStart()
      started = true
    }
    w.informational(status, headers)
    w.flush()
  }

  override val body: OutputStream = object : OutputStream() {
    override fun write(b: Int) = write(byteArrayOf(b.toByte()), 0, 1)

    override fun write(b: ByteArray, off: Int, len: Int) = writeBody(b, off, len)

    override fun flush() {
      if (ended) throw IOException(ENDED)
      if (!headSent) sendHead()
      if (ended) throw IOException(ENDED)
      w.flush()
    }
  }

  private fun writeBody(b: ByteArray, off: Int, len: Int) {
    if (ended) throw IOException(ENDED)
    if (!headSent) sendHead()
    if (ended) throw IOException(ENDED)
    if (len == 0) return
    if (noBody) return // a response to HEAD, a 204 and a 304 have no content: writes are dropped
    if (declared >= 0 && written + len > declared) {
      throw IOException("response content longer than its content-length $declared")
    }
    written += len
    var o = off
    var left = len
    while (left > 0) {
      val n = minOf(left, Wire.CHUNK_SIZE)
      w.chunk(b, o, n)
      o += n
      left -= n
    }
  }

  private fun sendHead() {
    headSent = true
    var st = status
    if (st !in 200..599) {
      conn.srvLog("httpipc: status $st cannot be carried; sending 500")
      st = 500
    }
    noBody = req.method == "HEAD" || st == 204 || st == 304
    headers["content-length"]?.toLongOrNull()?.let { if (it >= 0) declared = it }
    if (!started) {
      w.responseStart()
      started = true
    }
    try {
      w.responseHead(st, headers)
      status = st
    } catch (e: IllegalArgumentException) {
      // The provider answers in the handler's place (protocol section 4); what the handler
      // writes afterwards is dropped and the connection closes.
      conn.srvLog("httpipc: handler set an invalid header: ${e.message}")
      conn.writeError(true, 500, "invalid-response", e.message ?: "invalid response head")
      status = 500
      ended = true
    }
  }

  /**
   * Answers for the handler when reading the request body failed for the request's own fault
   * (413 or 431 too-large, 400 malformed) before the handler sent its head; the connection closes
   * after the response either way.
   */
  fun badBody(status: Int, code: String, message: String) {
    bodyTooLarge = true
    if (headSent) return
    headSent = true
    ended = true
    conn.writeError(started, status, code, message)
  }

  /** Ends the response after the handler returned; reports whether the connection is usable. */
  fun finish(): Boolean {
    if (ended) return false
    if (!headSent) sendHead()
    if (ended) return false
    if (declared >= 0 && written < declared && !noBody) {
      conn.srvLog("httpipc: handler wrote less than its content-length; aborting the response")
      return false
    }
    try {
      try {
        w.end(trailers)
      } catch (_: IllegalArgumentException) {
        w.end(null)
      }
      w.flush()
    } catch (_: IOException) {
      return false
    }
    return !bodyTooLarge
  }
}

/** The failure of writes after the provider answered in the handler's place. */
private const val ENDED = "the provider answered in the handler's place"
