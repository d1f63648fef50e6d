package io.github.httpipc.message

import io.github.httpipc.PeerCredentials
import io.github.httpipc.bhttp.Varint
import java.io.Closeable
import java.io.IOException
import java.io.InputStream
import java.io.InterruptedIOException
import java.io.OutputStream
import java.net.SocketTimeoutException
import java.util.ArrayDeque
import java.util.concurrent.TimeUnit
import java.util.concurrent.locks.ReentrantLock
import kotlin.concurrent.withLock

/**
 * A message channel that carries messages both ways independently, for streams over messages
 * (protocol section 10): Binder oneway transactions through a Messenger, an XPC connection, a
 * pair of D-Bus method calls or signals.
 *
 * The link only sends: messages that arrive from the peer are pushed into the mux by the host
 * code with [Mux.receive], in the order they arrived, from one thread at a time (a Binder
 * thread's `onTransact`, a D-Bus method handler). [Mux.receive] never blocks on the
 * application, so it may be called on the platform's dispatch thread. When the link ends, the
 * host calls [Mux.linkClosed].
 */
interface Link {
  /**
   * Sends one message. It may block while the channel is full and throws [IOException] when
   * the link failed. The link may keep [message]: the mux allocates one per frame.
   */
  fun send(message: ByteArray)

  /** The largest message the link carries, in bytes. */
  val maxMessageSize: Int

  /** Closes the link; the mux calls it when it closes or finds a protocol error. */
  fun close()
}

/**
 * Tuning of a [Mux].
 *
 * @property chunkSize the most stream bytes in one DATA frame; lowered to fit the link's message
 *   size.
 * @property window the most DATA payload bytes outstanding in each direction, across all streams.
 * @property peer the identity of the process at the other end, as the host's channel reports it
 *   (Binder calling uid, XPC audit token, D-Bus credentials); streams report it.
 */
class MuxOptions(
  val chunkSize: Int = DEFAULT_CHUNK_SIZE,
  val window: Int = DEFAULT_WINDOW,
  val peer: PeerCredentials? = null,
) {
  init {
    require(chunkSize > 0) { "chunkSize $chunkSize" }
    require(window >= 4) { "window $window" }
  }

  /** Defaults of the protocol. */
  companion object {
    /** The default chunk size, 16 KiB. */
    const val DEFAULT_CHUNK_SIZE: Int = 16 * 1024

    /** The default window, 128 KiB. */
    const val DEFAULT_WINDOW: Int = 128 * 1024
  }
}

/** A stream of a [Mux] failed: a message was lost, duplicated or reordered, or the peer reset it. */
class StreamBrokenException(message: String) : IOException(message)

/** The peer broke the streams-over-messages protocol; the whole channel is closed. */
class MuxProtocolException(message: String) : IOException("message: streams-over-messages protocol error: $message")

/**
 * Carries many byte streams over one [Link], with flow control (protocol section 10), so that
 * the stream protocol runs over a message channel: the client opens a stream with [open] for
 * each connection it would have dialled, the provider takes them with [accept] and serves each
 * as a connection.
 *
 * Frames that break the protocol (unknown type, malformed header, window violation) close the
 * whole channel with a [MuxProtocolException]; a lost, duplicated or reordered frame fails its
 * stream alone with a [StreamBrokenException] and a RESET to the peer. A peer can never make
 * the mux hold more than the window of unread bytes. The mux runs one daemon thread that sends
 * WINDOW and RESET frames, so that [receive] never blocks on the link.
 *
 * @param client which end this is: the client opens streams (odd ids), the provider accepts.
 */
class Mux(
  private val link: Link,
  private val client: Boolean,
  private val options: MuxOptions = MuxOptions(),
) : Closeable {
  private val lock = ReentrantLock()
  private val changed = lock.newCondition()
  private val sendLock = ReentrantLock()
  private val chunk = minOf(options.chunkSize, link.maxMessageSize - MAX_FRAME_HEADER, options.window)
  private val window = options.window

  private val streams = HashMap<Long, MuxStream>()
  private var nextId = if (client) 1L else 0L
  private var inflight = 0L // bytes sent, not yet credited
  private var pending = 0L // bytes consumed, not yet credited back
  private var inbuf = 0L // bytes received, not yet read
  private val acceptQueue = ArrayDeque<MuxStream>()
  private val control = ArrayDeque<ByteArray>()
  private var closed = false
  private var failure: IOException? = null

  init {
    require(chunk > 0) { "link message size ${link.maxMessageSize} leaves no room for data" }
    Thread(::controlLoop, "httpipc-mux-control").apply { isDaemon = true }.start()
  }

  /** The error that ended the mux, or null while it runs. */
  val error: IOException? get() = lock.withLock { failure }

  /** Starts a new stream to the provider (client end only). */
  fun open(): MuxStream = lock.withLock {
    if (closed) throw closedError()
    check(client) { "only the client end of a Mux opens streams" }
    val s = MuxStream(nextId)
    nextId += 2
    streams[s.id] = s
    s
  }

  /** Waits for the next stream the client opened; null once the mux is closed. */
  fun accept(): MuxStream? = lock.withLock {
    while (acceptQueue.isEmpty()) {
      if (closed) return null
      changed.await()
    }
    acceptQueue.poll()
  }

  /**
   * Processes one message the peer sent; the mux keeps [message], which must not be reused.
   * Call in arrival order, one call at a time. A protocol error closes the mux (see [error]);
   * this never throws for bad input and never blocks on the application.
   */
  fun receive(message: ByteArray) {
    try {
      handle(message)
    } catch (e: MuxProtocolException) {
      fail(e)
      link.close()
      return
    }
    if (lock.withLock { failure is MuxProtocolException }) link.close()
  }

  /** Tells the mux that its link ended; streams fail with [cause]. */
  fun linkClosed(cause: IOException? = null) {
    fail(IOException("message: link closed" + (cause?.let { ": ${it.message}" } ?: ""), cause))
  }

  /** Closes the link and every stream. */
  override fun close() {
    fail(IOException("message: mux closed"))
    link.close()
  }

  private fun closedError() = failure ?: IOException("message: mux closed")

  private fun fail(e: IOException) = lock.withLock {
    if (closed) return
    closed = true
    failure = e
    for (s in streams.values) s.broken(e)
    changed.signalAll()
  }

  private fun handle(msg: ByteArray) {
    if (msg.isEmpty()) throw MuxProtocolException("empty message")
    val typ = msg[0].toInt() and 0xff
    if (typ > WINDOW) throw MuxProtocolException("unknown frame type $typ")
    var off = 1
    val id = Varint.decode(msg, off, msg.size)
    if (id < 0) throw MuxProtocolException("truncated frame header")
    off += Varint.lengthOf(msg[off])
    val seq = Varint.decode(msg, off, msg.size)
    if (seq < 0) throw MuxProtocolException("truncated frame header")
    off += Varint.lengthOf(msg[off])
    val len = msg.size - off
    if ((typ == WINDOW) != (id == 0L)) throw MuxProtocolException("frame type $typ on stream $id")
    lock.withLock {
      if (closed) return
      if (typ == WINDOW) {
        val n = Varint.decode(msg, off, msg.size)
        if (seq != 0L || n < 0 || off + Varint.lengthOf(msg[off]) != msg.size || n > inflight) {
          throw MuxProtocolException("bad window update")
        }
        inflight -= n
        changed.signalAll()
        return
      }
      if (typ == FIN && len != 0) throw MuxProtocolException("FIN frame with a payload on stream $id")
      if (typ == DATA && inbuf + len > window) throw MuxProtocolException("peer sent past the window of $window bytes")
      var s = streams[id]
      if (s == null) {
        if (typ != DATA || seq != 0L || client || id % 2 == 0L) {
          credit(len.toLong()) // a frame of a stream that is gone
          return
        }
        if (acceptQueue.size >= MAX_PENDING_ACCEPT) {
          credit(len.toLong())
          queueControl(frame(RESET, id, 0, "too many streams waiting to be accepted".toByteArray()))
          return
        }
        s = MuxStream(id)
        streams[id] = s
        acceptQueue.add(s)
      }
      if (seq != s.rseq) {
        val what = if (seq < s.rseq) "duplicated" else "lost or reordered"
        val err = StreamBrokenException("message: stream broken: stream $id: frame $seq arrived where ${s.rseq} was expected ($what)")
        if (seq > s.rseq) credit(len.toLong()) // a duplicate's bytes were credited with the original
        s.broken(err)
        s.drop()
        if (!s.wclosed) queueControl(frame(RESET, id, s.wseq++, (err.message ?: "").toByteArray()))
        return
      }
      s.rseq++
      when (typ) {
        DATA -> if (s.rclosed || s.err != null) {
          credit(len.toLong())
        } else if (len > 0) {
          s.segments.add(Segment(msg, off, len))
          s.inLen += len
          inbuf += len
        }
        FIN -> s.eof = true
        RESET -> {
          val reason = String(msg, off, minOf(len, MAX_RESET_REASON), Charsets.UTF_8)
          s.broken(StreamBrokenException("message: stream broken: peer reset stream $id: $reason"))
          s.drop()
        }
      }
      changed.signalAll()
    }
  }

  /** Records consumed bytes; queues a WINDOW frame once a quarter of the window is consumed. Lock held. */
  private fun credit(n: Long) {
    pending += n
    if (pending >= window / 4) {
      queueControl(frame(WINDOW, 0, 0, Varint.encode(pending)))
      pending = 0
    }
  }

  /** Lock held. */
  private fun queueControl(f: ByteArray) {
    if (control.size >= MAX_CONTROL_QUEUE) {
      closed = true // fail() below with the lock held: reentrant
      failure = MuxProtocolException("the peer caused more than $MAX_CONTROL_QUEUE unsent control frames")
      for (s in streams.values) s.broken(failure!!)
      changed.signalAll()
      return
    }
    control.add(f)
    changed.signalAll()
  }

  private fun controlLoop() {
    while (true) {
      val f = lock.withLock {
        while (control.isEmpty() && !closed) changed.await()
        if (control.isEmpty()) return
        control.poll()
      }
      try {
        send(f)
      } catch (e: IOException) {
        fail(IOException("message: link send: ${e.message}", e))
        return
      }
    }
  }

  private fun send(f: ByteArray) = sendLock.withLock { link.send(f) }

  private fun frame(typ: Int, id: Long, seq: Long, payload: ByteArray, off: Int = 0, len: Int = payload.size): ByteArray {
    val f = ByteArray(1 + Varint.size(id) + Varint.size(seq) + len)
    f[0] = typ.toByte()
    var p = Varint.encode(id, f, 1)
    p = Varint.encode(seq, f, p)
    System.arraycopy(payload, off, f, p, len)
    return f
  }

  internal class Segment(val b: ByteArray, var off: Int, var len: Int)

  /**
   * One byte stream of a [Mux]: a connection of the stream protocol. Read [input] (-1 once the
   * peer sent FIN), write [output] (closing it sends FIN), and [close] when done: the peer then
   * reads the end of the stream, which the stream protocol takes as cancellation.
   */
  inner class MuxStream internal constructor(
    /** The stream id: odd, opened by the client. */
    val id: Long,
  ) : Closeable {
    internal val segments = ArrayDeque<Segment>()
    internal var inLen = 0L
    internal var rseq = 0L
    internal var wseq = 0L
    internal var eof = false
    internal var rclosed = false
    internal var wclosed = false
    internal var err: IOException? = null
    private val writeLock = ReentrantLock()

    /** The identity of the peer, as the host gave it in [MuxOptions.peer]. */
    val peer: PeerCredentials? get() = options.peer

    /** How long a read waits for data, in milliseconds, before [SocketTimeoutException]; 0 waits forever. */
    @Volatile
    var readTimeoutMillis: Long = 0

    /** The bytes the peer sends; -1 after its FIN. */
    val input: InputStream = object : InputStream() {
      private val one = ByteArray(1)

      override fun read(): Int = if (read(one, 0, 1) < 0) -1 else one[0].toInt() and 0xff

      override fun read(b: ByteArray, off: Int, len: Int): Int = readInto(b, off, len)

      override fun available(): Int = lock.withLock { minOf(inLen, Int.MAX_VALUE.toLong()).toInt() }

      override fun close() = this@MuxStream.close()
    }

    /** The bytes to send; [OutputStream.close] sends FIN (half-close). Writes block on the window. */
    val output: OutputStream = object : OutputStream() {
      override fun write(b: Int) = write(byteArrayOf(b.toByte()), 0, 1)

      override fun write(b: ByteArray, off: Int, len: Int) = writeFrom(b, off, len)

      override fun close() = closeWrite()
    }

    private fun readInto(b: ByteArray, off: Int, len: Int): Int {
      java.util.Objects.checkFromIndexSize(off, len, b.size)
      if (len == 0) return 0
      lock.withLock {
        var nanos = TimeUnit.MILLISECONDS.toNanos(readTimeoutMillis)
        while (inLen == 0L) {
          when {
            rclosed -> throw IOException("message: stream closed")
            err != null -> throw err!!
            eof -> return -1
          }
          if (readTimeoutMillis > 0) {
            if (nanos <= 0) throw SocketTimeoutException("message: read timed out")
            nanos = changed.awaitNanos(nanos)
          } else {
            changed.await()
          }
        }
        var n = 0
        while (n < len && segments.isNotEmpty()) {
          val seg = segments.peek()
          val k = minOf(len - n, seg.len)
          System.arraycopy(seg.b, seg.off, b, off + n, k)
          n += k
          seg.off += k
          seg.len -= k
          if (seg.len == 0) segments.poll()
        }
        inLen -= n
        inbuf -= n
        credit(n.toLong())
        return n
      }
    }

    private fun writeFrom(b: ByteArray, off: Int, len: Int) {
      java.util.Objects.checkFromIndexSize(off, len, b.size)
      writeLock.withLock {
        var p = off
        val end = off + len
        while (p < end) {
          val n = minOf(end - p, chunk)
          val seq = lock.withLock {
            while (true) {
              when {
                rclosed || wclosed -> throw IOException("message: stream closed")
                err != null -> throw err!!
                closed -> throw closedError()
              }
              if (inflight + n <= window) break
              changed.await()
            }
            inflight += n
            wseq++
          }
          try {
            send(frame(DATA, id, seq, b, p, n))
          } catch (e: IOException) {
            fail(IOException("message: link send: ${e.message}", e))
            throw e
          }
          p += n
        }
      }
    }

    /** Tells the peer that no more bytes follow (FIN); reading goes on. */
    fun closeWrite() {
      writeLock.withLock {
        val seq = lock.withLock {
          if (wclosed || err != null || closed) return
          wclosed = true
          wseq++
        }
        send(frame(FIN, id, seq, EMPTY))
      }
    }

    /** Fails the stream on both ends: the peer's reads and writes fail with [reason]. */
    fun reset(reason: String) {
      writeLock.withLock {
        val seq = lock.withLock {
          if (err != null || closed) return
          broken(StreamBrokenException("message: stream broken: stream $id reset: $reason"))
          drop()
          if (wclosed) return
          wclosed = true
          wseq++
        }
        val r = reason.toByteArray(Charsets.UTF_8)
        send(frame(RESET, id, seq, r, 0, minOf(r.size, MAX_RESET_REASON)))
      }
    }

    /** Ends the stream in both directions: sends FIN and drops what was not read. */
    override fun close() {
      try {
        closeWrite()
      } finally {
        lock.withLock {
          if (!rclosed) {
            rclosed = true
            drop()
            changed.signalAll()
          }
        }
      }
    }

    /** Lock held. */
    internal fun broken(e: IOException) {
      if (err == null) err = e
      changed.signalAll()
    }

    /** Forgets the stream and credits what it held unread. Lock held. */
    internal fun drop() {
      inbuf -= inLen
      credit(inLen)
      segments.clear()
      inLen = 0
      streams.remove(id)
    }

    override fun toString() = "MuxStream($id)"
  }

  private companion object {
    const val DATA = 0
    const val FIN = 1
    const val RESET = 2
    const val WINDOW = 3
    const val MAX_FRAME_HEADER = 1 + 8 + 8
    const val MAX_RESET_REASON = 512
    const val MAX_PENDING_ACCEPT = 16
    const val MAX_CONTROL_QUEUE = 4096
    val EMPTY = ByteArray(0)
  }
}
