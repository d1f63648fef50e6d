package io.github.httpipc.bhttp

import java.io.IOException

/**
 * A message could not be decoded.
 *
 * [kind] is the class of the error as the shared test vectors name it (`malformed`, `too-large`,
 * `truncated`); the message says which part of the message was wrong.
 */
class BhttpException(
  /** The class of the error. */
  val kind: Kind,
  message: String,
) : IOException(message) {
  /** Error classes of decoding. */
  enum class Kind(
    /** The name of the class in the test vectors. */
    val vectorName: String,
  ) {
    /** The input breaks RFC 9292 or a rule of protocol section 3. */
    MALFORMED("malformed"),

    /** A part of the message is larger than the [Limits] allow. */
    TOO_LARGE("too-large"),

    /** The input ends inside a message. */
    TRUNCATED("truncated"),
  }

  internal companion object {
    fun malformed(detail: String) = BhttpException(Kind.MALFORMED, "bhttp: malformed message: $detail")

    fun tooLarge(detail: String) = BhttpException(Kind.TOO_LARGE, "bhttp: message too large: $detail")

    fun truncated(what: String) = BhttpException(Kind.TRUNCATED, "input ends inside the $what: unexpected EOF")
  }
}

/**
 * Bounds what a decoder accepts.
 *
 * @property maxFieldSectionSize bounds the encoded size of the request control data plus the
 *   header section, and separately of each trailer section and each response header section
 *   (informational or final), counted as protocol section 4 defines.
 */
class Limits(val maxFieldSectionSize: Int = DEFAULT_MAX_FIELD_SECTION_SIZE) {
  init {
    require(maxFieldSectionSize > 0) { "maxFieldSectionSize $maxFieldSectionSize" }
  }

  override fun toString() = "Limits(maxFieldSectionSize=$maxFieldSectionSize)"

  /** Constants of the protocol. */
  companion object {
    /** The default field section limit, 64 KiB. */
    const val DEFAULT_MAX_FIELD_SECTION_SIZE: Int = 64 * 1024

    /** The largest control data field (method, scheme, authority, path), 8 KiB. */
    const val MAX_CONTROL_DATA_FIELD_SIZE: Int = 8 * 1024

    /** The most informational responses one response may carry. */
    const val MAX_INFORMATIONAL: Int = 16
  }
}
