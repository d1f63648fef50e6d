package io.github.httpipc.bhttp

import java.io.IOException
import java.io.InputStream

/**
 * Decodes a sequence of Binary HTTP messages (RFC 9292) from a byte stream, under the rules of
 * a message on a stream (protocol section 3): no truncation, no padding, each message ends
 * where the next begins.
 *
 * Read a head with [readRequestHead] or [readResponseHead], then read [content] until it
 * returns -1, at which point [trailers] holds the trailer section and the reader is at the
 * start of the next message. Every length is checked against [limits] before memory is
 * allocated for it. After any error the reader is unusable and every call throws that error.
 *
 * The reader buffers [input] itself: do not wrap it in a buffered stream, and do not read
 * [input] directly while the reader is in use. It is not safe for concurrent use.
 */
class MessageReader(
  private val input: InputStream,
  private val limits: Limits = Limits(),
) {
  /** Whole-message mode: the end of the input may end the message early (RFC 9292 3.8). */
  internal var truncationAllowed = false

  private var buf = ByteArray(BUFFER_SIZE)
  private var pos = 0
  private var lim = 0
  private var eof = false

  private var state = IDLE
  private var known = false // known-length framing
  private var remain = 0L // bytes left in the current chunk or known-length content
  private var total = 0L // content bytes delivered
  private var want = -1L // content-length announced, or -1
  private var head = false // the next response answers HEAD
  private var trailerFields: Fields? = null
  private var failure: IOException? = null

  /** How many bytes of the input the reader holds that it has not decoded yet. */
  fun bufferedBytes(): Int = lim - pos

  /**
   * Reads the framing indicator, control data and header section of the next message, which
   * must be a request. Returns null at the clean end of the input, before any byte of a message.
   */
  fun readRequestHead(): RequestHead? {
    if (!begin()) return null
    try {
      val fi = buf[pos++].toInt() and 0xff
      if (fi != 0 && fi != 2) throw BhttpException.malformed("framing indicator $fi is not a request")
      known = fi == 0
      var budget = limits.maxFieldSectionSize
      val ctl = arrayOfNulls<String>(4)
      for (i in 0 until 4) {
        val what = CONTROL[i]
        val n = varint(what)
        if (n > Limits.MAX_CONTROL_DATA_FIELD_SIZE) {
          throw BhttpException.tooLarge("$what of $n bytes exceeds ${Limits.MAX_CONTROL_DATA_FIELD_SIZE}")
        }
        val cost = n.toInt() + Varint.size(n)
        if (cost > budget) {
          throw BhttpException.tooLarge("request head exceeds the field section limit of ${limits.maxFieldSectionSize} bytes")
        }
        budget -= cost
        require(n.toInt(), what)
        ctl[i] = text(buf, pos, n.toInt())
        pos += n.toInt()
      }
      Syntax.controlProblem(ctl[0]!!, ctl[1]!!, ctl[2]!!, ctl[3]!!)?.let { throw BhttpException.malformed(it) }
      val fields = readFields("header section", budget)
      val cl = startContent(fields, false)
      return RequestHead(ctl[0]!!, ctl[1]!!, ctl[2]!!, ctl[3]!!, fields, cl)
    } catch (e: IOException) {
      throw fail(e)
    }
  }

  /**
   * Tells the reader that the next response answers a HEAD request: its content must be empty,
   * whatever its `content-length` says.
   */
  fun expectHeadResponse() {
    head = true
  }

  /**
   * Reads the next message, which must be a response, up to its content. Each informational
   * (1xx) response before the final one is passed to [onInformational]; an exception it throws
   * stops decoding. At the end of the input before a message it throws a truncated
   * [BhttpException].
   */
  fun readResponseHead(onInformational: ((Int, Fields) -> Unit)? = null): ResponseHead {
    if (!begin()) throw fail(BhttpException.truncated("framing indicator"))
    try {
      val fi = buf[pos++].toInt() and 0xff
      if (fi != 1 && fi != 3) throw BhttpException.malformed("framing indicator $fi is not a response")
      known = fi == 1
      var n = 0
      while (true) {
        val st = varint("status code")
        if (st < 100 || st > 599) throw BhttpException.malformed("status code $st is not in 100-599")
        val fields = readFields("header section", limits.maxFieldSectionSize)
        if (st >= 200) {
          // A response to HEAD, a 204 and a 304 have no content (protocol section 3, rule 6).
          val noContent = head || st == 204L || st == 304L
          head = false
          val cl = startContent(fields, noContent)
          return ResponseHead(st.toInt(), fields, cl)
        }
        if (n >= Limits.MAX_INFORMATIONAL) throw BhttpException.tooLarge("more than ${Limits.MAX_INFORMATIONAL} informational responses")
        n++
        onInformational?.invoke(st.toInt(), fields)
      }
    } catch (e: IOException) {
      throw fail(e)
    }
  }

  /**
   * The content of the current message; it returns -1 once the content and the trailer section
   * have been read. Closing it does nothing.
   */
  val content: InputStream = object : InputStream() {
    override fun read(): Int {
      val one = single
      return if (read(one, 0, 1) < 0) -1 else one[0].toInt() and 0xff
    }

    override fun read(b: ByteArray, off: Int, len: Int): Int = readContent(b, off, len)

    override fun available(): Int = if (state == CONTENT) minOf(remain, (lim - pos).toLong()).toInt() else 0
  }
  private val single = ByteArray(1)

  /** The trailer section of the message whose content was read to its end, or null when empty. */
  fun trailers(): Fields? = trailerFields

  /**
   * Reads and drops the rest of the current message's content, at most [max] bytes. Returns
   * whether the message ended, leaving the reader at the start of the next one.
   */
  fun discard(max: Long): Boolean {
    if (state == DONE || state == IDLE) return true
    if (state == FAILED) return false
    var left = max
    try {
      while (left >= 0) {
        if (remain > 0 && pos < lim) {
          val n = minOf(remain, (lim - pos).toLong(), left + 1).toInt()
          pos += n
          remain -= n
          total += n
          left -= n
          checkTooLong()
          continue
        }
        val n = readContent(scratch(), 0, minOf(scratch().size.toLong(), left + 1).toInt().coerceAtLeast(1))
        if (n < 0) return true
        left -= n
      }
    } catch (e: IOException) {
      return false
    }
    return false
  }

  /**
   * Reports whether the current message's content and trailer section are empty and already
   * buffered, and if so consumes them, so that the message is complete without reading
   * [content]. It never blocks.
   */
  fun skipEmptyContent(): Boolean {
    if (state != CONTENT || remain != 0L || want > 0) return false
    val need = if (known) 1 else 2
    if (lim - pos < need) return false
    for (i in pos until pos + need) if (buf[i].toInt() != 0) return false
    pos += need
    state = DONE
    return true
  }

  // ---- internals

  private var scratchBuf: ByteArray? = null

  private fun scratch(): ByteArray = scratchBuf ?: ByteArray(8192).also { scratchBuf = it }

  /** Starts a message; false at the clean end of the input. */
  private fun begin(): Boolean {
    failure?.let { throw it }
    if (state == CONTENT) throw IllegalStateException("bhttp: the content of the previous message was not read to the end")
    state = IDLE
    trailerFields = null
    total = 0
    remain = 0
    try {
      if (pos == lim && !fill()) return false
    } catch (e: IOException) {
      throw fail(e)
    }
    return true
  }

  private fun fail(e: IOException): IOException {
    if (state != FAILED) {
      state = FAILED
      failure = e
    }
    return failure!!
  }

  /** Reads more input after [lim]; false at its end. Compacts the buffer when full. */
  private fun fill(): Boolean {
    if (eof) return false
    if (lim == buf.size) {
      if (pos == 0) buf = buf.copyOf(buf.size * 2)
      else {
        System.arraycopy(buf, pos, buf, 0, lim - pos)
        lim -= pos
        pos = 0
      }
    }
    val n = input.read(buf, lim, buf.size - lim)
    if (n < 0) {
      eof = true
      return false
    }
    lim += n
    return true
  }

  /** Makes [n] bytes available at [pos] (n is already checked against a limit). */
  private fun require(n: Int, what: String) {
    if (lim - pos >= n) return
    if (buf.size - pos < n) {
      // Move the pending bytes to the front, into a larger buffer when needed.
      val nb = if (buf.size < n) ByteArray(maxOf(n, BUFFER_SIZE)) else buf
      System.arraycopy(buf, pos, nb, 0, lim - pos)
      lim -= pos
      pos = 0
      buf = nb
    }
    while (lim - pos < n) if (!fill()) throw BhttpException.truncated(what)
  }

  /** Reads a varint; the end of input anywhere in it is truncation. */
  private fun varint(what: String): Long {
    if (pos == lim && !fill()) throw BhttpException.truncated(what)
    val len = Varint.lengthOf(buf[pos])
    require(len, what)
    val v = Varint.decode(buf, pos, lim)
    pos += len
    return v
  }

  /** Reads a varint, or returns -1 when the input ends before it. */
  private fun varintOrEnd(what: String): Long {
    if (pos == lim && !fill()) return -1
    return varint(what)
  }

  /** Whether the input has ended here (fills when needed). */
  private fun atEnd(): Boolean = pos == lim && !fill()

  private fun readFields(what: String, budget: Int): Fields {
    var limit = budget.toLong()
    if (known) {
      val n = varint("$what length")
      if (n > limit) throw BhttpException.tooLarge("$what of $n bytes exceeds the limit of $budget bytes")
      limit = n
    }
    val fields = Fields()
    var used = 0L
    while (true) {
      if (known && used == limit) break
      val nl = varint(what)
      used += Varint.size(nl)
      if (nl == 0L) {
        if (known) throw BhttpException.malformed("empty field name in $what")
        break
      }
      if (nl > limit || used + nl > limit) throw overrun(what, budget)
      used += nl
      val n = nl.toInt()
      require(n, what)
      Syntax.nameProblem(buf, pos, n)?.let { throw BhttpException.malformed("$what: $it") }
      val name = nameString(buf, pos, n)
      pos += n
      val vl = varint(what)
      used += Varint.size(vl)
      if (vl > limit || used + vl > limit) throw overrun(what, budget)
      used += vl
      val v = vl.toInt()
      require(v, what)
      if (!Syntax.validValue(buf, pos, v)) {
        throw BhttpException.malformed("$what: value of \"$name\" contains a control character other than HTAB")
      }
      fields.addLowercase(name, text(buf, pos, v))
      pos += v
    }
    return fields
  }

  private fun overrun(what: String, budget: Int) =
    if (known) BhttpException.malformed("field line runs past the end of the $what")
    else BhttpException.tooLarge("$what exceeds the limit of $budget bytes")

  /** Positions the reader at the content and works out its length. */
  private fun startContent(fields: Fields, noContent: Boolean): Long {
    state = CONTENT
    want = -1
    var cl: String? = null
    for (i in 0 until fields.size) {
      if (fields.name(i) == "content-length") {
        if (cl != null) throw BhttpException.malformed("${fields.values("content-length").size} Content-Length fields")
        cl = fields.value(i)
      }
    }
    if (cl != null) want = parseContentLength(cl)
    if (noContent) want = 0
    if (!known) return -1
    val n = if (truncationAllowed) varintOrEnd("content length") else varint("content length")
    if (n < 0) {
      state = DONE
      return 0
    }
    if (noContent && n != 0L) throw BhttpException.malformed("a response to HEAD, 204 or 304 with $n bytes of content")
    if (want >= 0 && n != want) throw BhttpException.malformed("content length $n disagrees with Content-Length $want")
    remain = n
    return n
  }

  private fun parseContentLength(s: String): Long {
    if (s.isEmpty() || s.length > 19) throw BhttpException.malformed("Content-Length \"$s\" is not a number")
    var v = 0L
    for (ch in s) {
      if (ch !in '0'..'9') throw BhttpException.malformed("Content-Length \"$s\" is not a number")
      v = v * 10 + (ch - '0')
      if (v < 0) throw BhttpException.malformed("Content-Length \"$s\" is not a number")
    }
    return v
  }

  private fun readContent(b: ByteArray, off: Int, len: Int): Int {
    when (state) {
      DONE -> return -1
      FAILED -> throw failure!!
      IDLE -> throw IllegalStateException("bhttp: content read before a message head was read")
    }
    java.util.Objects.checkFromIndexSize(off, len, b.size)
    if (len == 0) return 0
    try {
      while (remain == 0L) {
        if (known) return finish()
        val n = if (truncationAllowed) varintOrEnd("content chunk length") else varint("content chunk length")
        if (n < 0 || n == 0L) return finish()
        remain = n
      }
      val want = minOf(len.toLong(), remain).toInt()
      val n: Int
      if (pos < lim) {
        n = minOf(want, lim - pos)
        System.arraycopy(buf, pos, b, off, n)
        pos += n
      } else if (want >= buf.size / 2) {
        // A large read: straight from the input into the caller's array.
        n = input.read(b, off, want)
        if (n < 0) throw BhttpException.truncated("content")
      } else {
        if (!fill()) throw BhttpException.truncated("content")
        return readContent(b, off, len)
      }
      remain -= n
      total += n
      checkTooLong()
      return n
    } catch (e: IOException) {
      throw fail(e)
    }
  }

  private fun checkTooLong() {
    if (want >= 0 && total > want) throw fail(BhttpException.malformed("content is longer than its Content-Length $want"))
  }

  /** Reads the trailer section after the content; returns -1. */
  private fun finish(): Int {
    if (want >= 0 && total != want) {
      throw BhttpException.malformed("content of $total bytes is shorter than its Content-Length $want")
    }
    if (truncationAllowed && atEnd()) {
      state = DONE
      return -1
    }
    val t = readFields("trailer section", limits.maxFieldSectionSize)
    trailerFields = if (t.isEmpty()) null else t
    state = DONE
    return -1
  }

  /** Reads the rest of a whole message held in memory: the bytes after it must be zero. */
  internal fun checkPadding() {
    while (true) {
      while (pos < lim) {
        val c = buf[pos++].toInt() and 0xff
        if (c != 0) throw BhttpException.malformed("non-zero byte 0x%02x after the end of the message".format(c))
      }
      if (!fill()) return
    }
  }

  private companion object {
    const val BUFFER_SIZE = 16 * 1024
    const val IDLE = 0
    const val CONTENT = 1
    const val DONE = 2
    const val FAILED = 3
    val CONTROL = arrayOf("method", "scheme", "authority", "path")

    private val COMMON = listOf(
      "accept", "accept-encoding", "accept-language", "authorization", "cache-control", "content-encoding",
      "content-length", "content-type", "cookie", "date", "etag", "host", "if-modified-since", "if-none-match",
      "last-modified", "location", "server", "set-cookie", "user-agent", "vary", "idempotency-key", "httpipc-error",
    ).associateBy { it.length * 31 + it[0].code }

    /** A field name as a String, without allocating for common names. */
    fun nameString(b: ByteArray, off: Int, len: Int): String {
      val c = COMMON[len * 31 + (b[off].toInt() and 0xff)]
      if (c != null && c.length == len) {
        var same = true
        for (i in 0 until len) if (c[i].code != (b[off + i].toInt() and 0xff)) { same = false; break }
        if (same) return c
      }
      return String(b, off, len, Charsets.ISO_8859_1)
    }

    /** Text of a field value or control data: ASCII directly, UTF-8 otherwise. */
    fun text(b: ByteArray, off: Int, len: Int): String {
      for (i in off until off + len) if (b[i] < 0) return String(b, off, len, Charsets.UTF_8)
      return String(b, off, len, Charsets.ISO_8859_1)
    }
  }
}
