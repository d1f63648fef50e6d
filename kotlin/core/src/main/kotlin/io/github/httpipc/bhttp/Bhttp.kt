package io.github.httpipc.bhttp

import java.io.ByteArrayInputStream
import java.io.ByteArrayOutputStream

/**
 * A whole request message held in memory.
 *
 * @property content the content; empty when none.
 * @property trailers the trailer section, null when empty.
 */
class Request(
  val method: String,
  val scheme: String,
  val authority: String,
  val path: String,
  val fields: Fields = Fields(),
  val content: ByteArray = EMPTY,
  val trailers: Fields? = null,
) {
  /** The head of this request (the decoded content length is not kept: it is [content]'s). */
  val head: RequestHead get() = RequestHead(method, scheme, authority, path, fields)

  override fun equals(other: Any?) = other is Request && method == other.method && scheme == other.scheme &&
    authority == other.authority && path == other.path && fields == other.fields &&
    content.contentEquals(other.content) && (trailers ?: NONE) == (other.trailers ?: NONE)

  override fun hashCode() = ((method.hashCode() * 31 + path.hashCode()) * 31 + fields.hashCode()) * 31 + content.contentHashCode()

  override fun toString() = "Request($method $scheme://$authority$path, $fields, ${content.size} bytes, trailers=$trailers)"
}

/**
 * A whole response message held in memory.
 *
 * @property informational the informational (1xx) responses before the final one, in order.
 * @property status the final status.
 * @property content the content; empty when none.
 * @property trailers the trailer section, null when empty.
 */
class Response(
  val status: Int,
  val fields: Fields = Fields(),
  val content: ByteArray = EMPTY,
  val trailers: Fields? = null,
  val informational: List<Pair<Int, Fields>> = emptyList(),
) {
  override fun equals(other: Any?) = other is Response && status == other.status && fields == other.fields &&
    content.contentEquals(other.content) && (trailers ?: NONE) == (other.trailers ?: NONE) &&
    informational == other.informational

  override fun hashCode() = (status * 31 + fields.hashCode()) * 31 + content.contentHashCode()

  override fun toString() = "Response($status, $fields, ${content.size} bytes, trailers=$trailers, informational=$informational)"
}

private val EMPTY = ByteArray(0)
private val NONE = Fields()

/**
 * Whole messages (RFC 9292 held in memory, protocol section 9): both framings, truncated
 * trailing sections and zero padding are accepted on decoding; any non-zero byte after the
 * message is malformed. Encoding produces indeterminate-length messages with the content in
 * one chunk, equal byte for byte to every encoder that follows protocol section 3.
 */
object Bhttp {
  /** Decodes a request held whole in [bytes]. */
  fun decodeRequest(bytes: ByteArray, limits: Limits = Limits()): Request {
    val r = reader(bytes, limits)
    val h = r.readRequestHead() ?: throw BhttpException.truncated("framing indicator")
    val content = readAll(r, bytes.size)
    val req = Request(h.method, h.scheme, h.authority, h.path, h.fields, content, r.trailers())
    r.checkPadding()
    return req
  }

  /** Decodes a response held whole in [bytes]. */
  fun decodeResponse(bytes: ByteArray, limits: Limits = Limits()): Response = response(bytes, limits, false)

  /** Decodes a response to a HEAD request held whole in [bytes]: its content must be empty. */
  fun decodeHeadResponse(bytes: ByteArray, limits: Limits = Limits()): Response = response(bytes, limits, true)

  /** Encodes [request] as one indeterminate-length message. */
  fun encodeRequest(request: Request): ByteArray {
    val out = ByteArrayOutputStream(request.content.size + 256)
    val w = MessageWriter(out)
    w.requestHead(request.head)
    w.chunk(request.content)
    w.end(request.trailers)
    w.flush()
    return out.toByteArray()
  }

  /** Encodes [response] as one indeterminate-length message. */
  fun encodeResponse(response: Response): ByteArray {
    val out = ByteArrayOutputStream(response.content.size + 256)
    val w = MessageWriter(out)
    w.responseStart()
    for ((status, fields) in response.informational) w.informational(status, fields)
    w.responseHead(response.status, response.fields)
    w.chunk(response.content)
    w.end(response.trailers)
    w.flush()
    return out.toByteArray()
  }

  private fun response(bytes: ByteArray, limits: Limits, head: Boolean): Response {
    val r = reader(bytes, limits)
    if (head) r.expectHeadResponse()
    val info = ArrayList<Pair<Int, Fields>>(0)
    val h = r.readResponseHead { status, fields -> info.add(status to fields) }
    val content = readAll(r, bytes.size)
    val resp = Response(h.status, h.fields, content, r.trailers(), info)
    r.checkPadding()
    return resp
  }

  private fun reader(bytes: ByteArray, limits: Limits) =
    MessageReader(ByteArrayInputStream(bytes), limits).also { it.truncationAllowed = true }

  /** The content cannot be longer than the input that holds it. */
  private fun readAll(r: MessageReader, max: Int): ByteArray {
    var b = ByteArray(minOf(max, 4096))
    var n = 0
    while (true) {
      if (n == b.size) {
        if (b.size > max) break
        b = b.copyOf(minOf(b.size * 2, max + 1).coerceAtLeast(16))
      }
      val k = r.content.read(b, n, b.size - n)
      if (k < 0) break
      n += k
    }
    return if (n == 0) EMPTY else if (n == b.size) b else b.copyOf(n)
  }
}
