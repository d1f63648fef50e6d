package io.github.httpipc.bhttp

import java.io.InputStream
import java.io.OutputStream

/** Variable-length integers of RFC 9000 section 16, as used by Binary HTTP and the mux frames. */
object Varint {
  /** The largest value a varint holds, 2^62-1. */
  const val MAX: Long = (1L shl 62) - 1

  /** How many bytes the encoding of [v] takes (1, 2, 4 or 8). */
  fun size(v: Long): Int = when {
    v < 0 || v > MAX -> throw IllegalArgumentException("varint $v out of range")
    v < (1L shl 6) -> 1
    v < (1L shl 14) -> 2
    v < (1L shl 30) -> 4
    else -> 8
  }

  /** Writes [v] into [dest] at [off]; returns the offset after it. */
  fun encode(v: Long, dest: ByteArray, off: Int): Int {
    val n = size(v)
    val prefix = when (n) { 1 -> 0; 2 -> 0x40; 4 -> 0x80; else -> 0xc0 }
    var x = v
    for (i in n - 1 downTo 0) {
      dest[off + i] = x.toByte()
      x = x ushr 8
    }
    dest[off] = (dest[off].toInt() or prefix).toByte()
    return off + n
  }

  /** The encoding of [v]. */
  fun encode(v: Long): ByteArray = ByteArray(size(v)).also { encode(v, it, 0) }

  /** Writes [v] to [out]. */
  fun write(out: OutputStream, v: Long) {
    val b = ByteArray(8)
    out.write(b, 0, encode(v, b, 0))
  }

  /**
   * Reads one varint from [input]; returns -1 when the stream ends before its first byte, and
   * throws [BhttpException] (truncated) when it ends inside it.
   */
  fun read(input: InputStream): Long {
    val b0 = input.read()
    if (b0 < 0) return -1
    val n = 1 shl (b0 ushr 6)
    var v = (b0 and 0x3f).toLong()
    for (i in 1 until n) {
      val b = input.read()
      if (b < 0) throw BhttpException.truncated("varint")
      v = (v shl 8) or b.toLong()
    }
    return v
  }

  /**
   * Decodes the varint at [off] in [b], before [end]; returns the value, or -1 when [end] comes
   * first. The length taken is [size] of the value's first byte: `1 shl (b[off] ushr 6)`.
   */
  fun decode(b: ByteArray, off: Int, end: Int): Long {
    if (off >= end) return -1
    val b0 = b[off].toInt() and 0xff
    val n = 1 shl (b0 ushr 6)
    if (off + n > end) return -1
    var v = (b0 and 0x3f).toLong()
    for (i in 1 until n) v = (v shl 8) or (b[off + i].toLong() and 0xff)
    return v
  }

  /** The length of the varint whose first byte is [firstByte]. */
  fun lengthOf(firstByte: Byte): Int = 1 shl ((firstByte.toInt() and 0xff) ushr 6)
}
