package io.github.httpipc.stream

import io.github.httpipc.bhttp.Fields
import io.github.httpipc.bhttp.MessageWriter
import io.github.httpipc.bhttp.Varint
import java.io.ByteArrayOutputStream
import java.io.IOException
import java.io.InputStream
import java.io.OutputStream
import java.time.Duration
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicLong

/** Wire constants and helpers of the stream protocol (protocol sections 6 and 7). */
internal object Wire {
  val MAGIC = byteArrayOf(0x89.toByte(), 'I'.code.toByte(), 'P'.code.toByte(), 'C'.code.toByte(), 0x0d, 0x0a, 0x1a, 0x0a)
  const val PREFACE_LEN = 8
  const val VERSION = 1
  const val MIN_VERSION = 1
  const val REFUSED = 0
  const val MAX_REFUSAL_REASON = 1024
  const val CHUNK_SIZE = 32 * 1024
  const val MAX_DRAIN_BYTES = 256L * 1024
  const val TOO_MANY_CONNECTIONS = "too many connections"
  const val ERROR_FIELD = "httpipc-error"

  fun clientPreface(): ByteArray = MAGIC + byteArrayOf(MIN_VERSION.toByte(), VERSION.toByte())

  fun serverPreface(): ByteArray = MAGIC + byteArrayOf(VERSION.toByte())

  /** A server preface that refuses the connection for [reason] (cut to 1024 bytes). */
  fun refusal(reason: String): ByteArray {
    var r = reason.toByteArray(Charsets.UTF_8)
    if (r.size > MAX_REFUSAL_REASON) r = r.copyOf(MAX_REFUSAL_REASON)
    val out = ByteArrayOutputStream()
    out.write(MAGIC)
    out.write(REFUSED)
    Varint.write(out, r.size.toLong())
    out.write(r)
    return out.toByteArray()
  }

  /**
   * Writes a whole response the provider generates itself (protocol section 4): [status], the
   * fields `cache-control`, `content-type` and `httpipc-error`, and [message] as one line.
   */
  fun errorResponse(w: MessageWriter, started: Boolean, status: Int, code: String, message: String) {
    if (!started) w.responseStart()
    w.responseHead(
      status,
      Fields("cache-control" to "no-store", "content-type" to "text/plain; charset=utf-8", ERROR_FIELD to code),
    )
    w.chunk((message + "\n").toByteArray(Charsets.UTF_8))
    w.end()
  }

  fun hex(b: ByteArray): String = b.joinToString(" ") { "%02x".format(it.toInt() and 0xff) }
}

/**
 * An input stream that can wait for its next byte without consuming it, so that the wait for a
 * request and the read of its head can have different deadlines.
 */
internal class PeekInput(private val src: InputStream) : InputStream() {
  private var pending = -1

  /** Whether a byte is held. */
  val hasPending: Boolean get() = pending >= 0

  /** Waits for the next byte and holds it; false at the end of the input. */
  fun awaitByte(): Boolean {
    if (pending >= 0) return true
    val b = src.read()
    if (b < 0) return false
    pending = b
    return true
  }

  /** The held byte; call after [awaitByte] returned true. */
  fun peeked(): Int = pending

  override fun read(): Int {
    if (pending >= 0) return pending.also { pending = -1 }
    return src.read()
  }

  override fun read(b: ByteArray, off: Int, len: Int): Int {
    if (len == 0) return 0
    if (pending >= 0) {
      b[off] = pending.toByte()
      pending = -1
      return 1
    }
    return src.read(b, off, len)
  }

  /** Reads up to [n] bytes, fewer only at the end of the input. */
  fun readUpTo(n: Int): ByteArray {
    val out = ByteArray(n)
    var got = 0
    while (got < n) {
      val r = read(out, got, n - got)
      if (r < 0) break
      got += r
    }
    return if (got == n) out else out.copyOf(got)
  }

  override fun close() = src.close()
}

/** An output stream that writes [prefix] in front of the first bytes written. */
internal class PrefixedOutput(private val out: OutputStream, private var prefix: ByteArray?) : OutputStream() {
  override fun write(b: Int) = write(byteArrayOf(b.toByte()), 0, 1)

  override fun write(b: ByteArray, off: Int, len: Int) {
    val p = prefix
    if (p != null) {
      prefix = null
      if (len < 64 * 1024) {
        out.write(p + b.copyOfRange(off, off + len))
        return
      }
      out.write(p)
    }
    out.write(b, off, len)
  }

  override fun flush() {
    prefix?.let {
      prefix = null
      out.write(it)
    }
    out.flush()
  }

  override fun close() = out.close()
}

/**
 * A deadline for blocking I/O: when it passes, [onTimeout] runs (it closes the connection or
 * shuts down its input, which ends the blocked call). Not for concurrent use.
 *
 * Arming and disarming only write a field and add to or remove from [Watchdog]'s set: a request
 * arms several deadlines, and a timer that woke a thread for each (as okio's AsyncTimeout does)
 * would cost more than the request. The watchdog looks at the armed deadlines every
 * [Watchdog.TICK_MILLIS] milliseconds, so a deadline fires up to that much late. Only armed
 * deadlines are in the set, so a connection that is gone is never kept alive by it.
 */
internal class Deadline(private val onTimeout: () -> Unit) {
  /** When the armed deadline passes (System.nanoTime), [IDLE], or [FIRED]. */
  private val at = AtomicLong(IDLE)

  /** Whether the last deadline passed. */
  @Volatile
  var expired = false
    private set

  /** Starts a deadline [d] from now; null or non-positive means none. */
  fun start(d: Duration?) {
    expired = false
    if (d == null || d.isZero || d.isNegative) {
      at.set(IDLE)
      return
    }
    var t = System.nanoTime() + d.toNanos()
    if (t == IDLE || t == FIRED) t++
    at.set(t)
    Watchdog.watch(this)
  }

  /** Stops the running deadline; returns whether it passed. */
  fun stop(): Boolean {
    val t = at.getAndSet(IDLE)
    if (t == FIRED) expired = true
    if (t != IDLE) Watchdog.forget(this)
    return expired
  }

  /** Runs [block] under a deadline [d]. */
  inline fun <T> within(d: Duration?, block: () -> T): T {
    start(d)
    try {
      return block()
    } finally {
      stop()
    }
  }

  /** Called by the watchdog: fires the deadline if it passed. */
  internal fun check(now: Long) {
    val t = at.get()
    if (t != IDLE && t != FIRED && now - t >= 0 && at.compareAndSet(t, FIRED)) {
      try {
        onTimeout()
      } catch (_: Exception) {
      }
    }
  }

  private companion object {
    const val IDLE = 0L
    const val FIRED = Long.MIN_VALUE
  }
}

/**
 * The thread that fires armed [Deadline]s. It runs while deadlines are armed and ends a second
 * after the last one was disarmed, so an idle process has no thread awake.
 */
internal object Watchdog {
  /** How often armed deadlines are looked at. */
  const val TICK_MILLIS = 20L

  /** How many empty ticks the thread waits before it ends. */
  private const val IDLE_TICKS = 50

  private val armed = ConcurrentHashMap.newKeySet<Deadline>()
  private val running = AtomicBoolean()

  fun watch(d: Deadline) {
    armed.add(d)
    if (!running.get() && running.compareAndSet(false, true)) {
      val t = Thread(::loop, "httpipc-deadlines")
      t.isDaemon = true
      t.start()
    }
  }

  fun forget(d: Deadline) {
    armed.remove(d)
  }

  private fun loop() {
    var empty = 0
    while (true) {
      try {
        Thread.sleep(TICK_MILLIS)
      } catch (_: InterruptedException) {
      }
      val now = System.nanoTime()
      for (d in armed) d.check(now)
      empty = if (armed.isEmpty()) empty + 1 else 0
      if (empty >= IDLE_TICKS) {
        running.set(false)
        // A deadline armed after the look above restarts the loop here.
        if (armed.isEmpty() || !running.compareAndSet(false, true)) return
        empty = 0
      }
    }
  }
}

/** Closes without reporting failures. */
internal fun AutoCloseable.closeQuietly() {
  try {
    close()
  } catch (_: Exception) {
  }
}

/** An [IOException] that says a deadline passed. */
internal class DeadlineException(what: String) : IOException(what)
