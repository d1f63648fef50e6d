package io.github.httpipc.bhttp

import java.io.OutputStream

/**
 * Encodes Binary HTTP messages (RFC 9292) in indeterminate-length framing onto [out], as
 * protocol section 3 requires of a sender: field lines sorted bytewise by name (the lines of
 * one name in order), hop-by-hop fields left out of header sections, content in chunks, and
 * every message complete (content and trailer sections always present).
 *
 * A request is [requestHead], any number of [chunk]s, then [end]. A response is
 * [responseStart], any [informational] responses, [responseHead], [chunk]s, then [end].
 *
 * The writer buffers: small parts collect in an internal buffer, which goes to [out] when it
 * fills, before a large chunk, and on [flush]. Nothing is guaranteed to reach [out] before
 * [flush]. Invalid names, values, control data or statuses throw [IllegalArgumentException]
 * before anything of the offending part is buffered. Not safe for concurrent use.
 */
class MessageWriter(private val out: OutputStream) {
  private var buf = ByteArray(4096)
  private var count = 0

  /** Appends the start of a request: framing indicator 2, control data and header section. */
  fun requestHead(head: RequestHead) {
    Syntax.controlProblem(head.method, head.scheme, head.authority, head.path)?.let { throw IllegalArgumentException("bhttp: $it") }
    val ctl = arrayOf(head.method, head.scheme, head.authority, head.path).map { it.toByteArray(Charsets.UTF_8) }
    for ((i, b) in ctl.withIndex()) {
      require(b.size <= Limits.MAX_CONTROL_DATA_FIELD_SIZE) { "bhttp: ${CONTROL[i]} is longer than ${Limits.MAX_CONTROL_DATA_FIELD_SIZE} bytes" }
    }
    var fields = head.fields
    if (head.contentLength > 0 && "content-length" !in fields) {
      fields = fields.copy().add("content-length", head.contentLength.toString())
    }
    val lines = prepare(fields, skipHopByHop = true)
    val mark = count
    byte(2)
    for (b in ctl) bytes(b)
    try {
      writeLines(fields, lines)
    } catch (e: IllegalArgumentException) {
      count = mark
      throw e
    }
    byte(0)
  }

  /** Appends framing indicator 3, which starts a response. */
  fun responseStart() {
    byte(3)
  }

  /** Appends an informational (1xx, not 101) response with its header section. */
  fun informational(status: Int, fields: Fields) {
    require(status in 100..199 && status != 101) { "bhttp: informational status $status is not in 100-199 (101 is not used)" }
    statusFields(status, fields)
  }

  /** Appends the final status (200 to 599) and header section of a response. */
  fun responseHead(status: Int, fields: Fields) {
    require(status in 200..599) { "bhttp: final status $status is not in 200-599" }
    statusFields(status, fields)
  }

  /** Appends [len] bytes of [bytes] from [off] as one content chunk; nothing when [len] is 0. */
  fun chunk(bytes: ByteArray, off: Int = 0, len: Int = bytes.size) {
    java.util.Objects.checkFromIndexSize(off, len, bytes.size)
    if (len == 0) return
    varint(len.toLong())
    if (len <= buf.size - count) {
      System.arraycopy(bytes, off, buf, count, len)
      count += len
    } else {
      drain()
      out.write(bytes, off, len)
    }
  }

  /** Ends the content and appends the trailer section; the message is then complete. */
  fun end(trailers: Fields? = null) {
    if (trailers == null || trailers.isEmpty()) {
      ensure(2)
      buf[count++] = 0
      buf[count++] = 0
      return
    }
    val lines = prepare(trailers, skipHopByHop = false)
    byte(0)
    writeLines(trailers, lines)
    byte(0)
  }

  /** Writes the buffered bytes to the output stream and flushes it. */
  fun flush() {
    drain()
    out.flush()
  }

  /** How many bytes are buffered and not yet written to the output stream. */
  fun bufferedBytes(): Int = count

  // ---- internals

  private fun statusFields(status: Int, fields: Fields) {
    val lines = prepare(fields, skipHopByHop = true)
    varint(status.toLong())
    writeLines(fields, lines)
    byte(0)
  }

  /** Validates and orders the lines to write; null entries are left out. */
  private fun prepare(fields: Fields, skipHopByHop: Boolean): IntArray {
    val idx = fields.sortedIndexes()
    var n = 0
    for (i in idx) {
      val name = fields.name(i)
      if (skipHopByHop && name in Syntax.HOP_BY_HOP) continue
      Syntax.checkName(name)
      Syntax.checkValue(name, fields.value(i))
      idx[n++] = i
    }
    return idx.copyOf(n)
  }

  private fun writeLines(fields: Fields, lines: IntArray) {
    for (i in lines) {
      string(fields.name(i), ascii = true)
      string(fields.value(i), ascii = false)
    }
  }

  private fun string(s: String, ascii: Boolean) {
    var plain = true
    if (!ascii) for (ch in s) if (ch.code >= 0x80) { plain = false; break }
    if (!plain) {
      bytes(s.toByteArray(Charsets.UTF_8))
      return
    }
    varint(s.length.toLong())
    ensure(s.length)
    for (i in s.indices) buf[count + i] = s[i].code.toByte()
    count += s.length
  }

  private fun bytes(b: ByteArray) {
    varint(b.size.toLong())
    ensure(b.size)
    System.arraycopy(b, 0, buf, count, b.size)
    count += b.size
  }

  private fun byte(b: Int) {
    ensure(1)
    buf[count++] = b.toByte()
  }

  private fun varint(v: Long) {
    ensure(8)
    count = Varint.encode(v, buf, count)
  }

  private fun ensure(n: Int) {
    if (buf.size - count >= n) return
    if (n <= buf.size && count > 0 && buf.size >= MAX_BUFFER) {
      drain()
      return
    }
    buf = buf.copyOf(maxOf(buf.size * 2, count + n))
  }

  private fun drain() {
    if (count > 0) {
      out.write(buf, 0, count)
      count = 0
    }
  }

  private companion object {
    const val MAX_BUFFER = 64 * 1024
    val CONTROL = arrayOf("method", "scheme", "authority", "path")
  }
}
