package io.github.httpipc.bhttp

/**
 * The part of a request before its content: the control data of RFC 9292 section 3.4 and the
 * header section.
 *
 * @property method the method, a token.
 * @property scheme the scheme, for example `http`.
 * @property authority the authority, empty when none.
 * @property path the target in origin form (`/path?query`), or `*`.
 * @property fields the header section.
 * @property contentLength the content length when the message used known-length framing, else
 *   -1. When encoding, a positive value adds a `content-length` field unless [fields] has one.
 */
class RequestHead(
  val method: String,
  val scheme: String,
  val authority: String,
  val path: String,
  val fields: Fields = Fields(),
  val contentLength: Long = -1,
) {
  override fun toString() = "RequestHead($method $scheme://$authority$path, $fields, contentLength=$contentLength)"
}

/**
 * The final status and header section of a response.
 *
 * @property status the final status, 200 to 599.
 * @property fields the header section.
 * @property contentLength the content length when the message used known-length framing, else -1.
 */
class ResponseHead(
  val status: Int,
  val fields: Fields = Fields(),
  val contentLength: Long = -1,
) {
  override fun toString() = "ResponseHead($status, $fields, contentLength=$contentLength)"
}

/** Checks of field names, values and control data (protocol section 3, rules 3 and 4). */
internal object Syntax {
  private val TOKEN = BooleanArray(128).also { t ->
    for (c in '0'..'9') t[c.code] = true
    for (c in 'a'..'z') { t[c.code] = true; t[c.code - 32] = true }
    for (c in "!#$%&'*+-.^_`|~") t[c.code] = true
  }

  fun tokenByte(c: Int): Boolean = c in 0..127 && TOKEN[c]

  /** Null when the wire name in [b] is valid, else why not. */
  fun nameProblem(b: ByteArray, off: Int, len: Int): String? {
    if (len == 0) return "empty field name"
    for (i in off until off + len) {
      val c = b[i].toInt() and 0xff
      if (!tokenByte(c)) {
        return if (c == ':'.code) "pseudo-header field ${quote(b, off, len)} is not allowed in a field section"
        else "field name ${quote(b, off, len)} has an invalid character"
      }
      if (c in 'A'.code..'Z'.code) return "field name ${quote(b, off, len)} is not lowercase"
    }
    return null
  }

  fun validValue(b: ByteArray, off: Int, len: Int): Boolean {
    for (i in off until off + len) {
      val c = b[i].toInt() and 0xff
      if ((c < 0x20 && c != 0x09) || c == 0x7f) return false
    }
    return true
  }

  fun checkName(name: String) {
    require(name.isNotEmpty()) { "bhttp: empty field name" }
    for (ch in name) require(ch.code < 128 && TOKEN[ch.code] && ch !in 'A'..'Z') { "bhttp: field name \"$name\" has an invalid character" }
  }

  fun checkValue(name: String, value: String) {
    for (ch in value) {
      require(!((ch.code < 0x20 && ch != '\t') || ch.code == 0x7f)) { "bhttp: value of field \"$name\" contains a control character" }
    }
  }

  /** Checks control data as Go's encoder and decoder do; returns the problem or null. */
  fun controlProblem(method: String, scheme: String, authority: String, path: String): String? {
    if (method.isEmpty()) return "empty method"
    for (ch in method) if (!(ch.code < 128 && TOKEN[ch.code])) return "method \"$method\" is not a token"
    targetProblem("scheme", scheme)?.let { return it }
    targetProblem("authority", authority)?.let { return it }
    if (path.isEmpty()) return "empty path"
    return targetProblem("path", path)
  }

  private fun targetProblem(what: String, s: String): String? {
    if (s.length > Limits.MAX_CONTROL_DATA_FIELD_SIZE) return "$what is longer than ${Limits.MAX_CONTROL_DATA_FIELD_SIZE} bytes"
    for (ch in s) if (ch.code <= 0x20 || ch.code == 0x7f) return "$what \"$s\" contains a control character or space"
    return null
  }

  fun quote(b: ByteArray, off: Int, len: Int): String {
    var s = String(b, off, minOf(len, 64), Charsets.ISO_8859_1)
    if (len > 64) s += "..."
    return "\"" + s.replace("\r", "\\r").replace("\n", "\\n") + "\""
  }

  val HOP_BY_HOP = setOf("connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer")
}
