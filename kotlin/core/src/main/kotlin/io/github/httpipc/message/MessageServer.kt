package io.github.httpipc.message

import io.github.httpipc.HttpHandler
import io.github.httpipc.PeerCredentials
import io.github.httpipc.Policy
import io.github.httpipc.ServerRequest
import io.github.httpipc.ServerResponse
import io.github.httpipc.bhttp.Bhttp
import io.github.httpipc.bhttp.BhttpException
import io.github.httpipc.bhttp.ErrorResponse
import io.github.httpipc.bhttp.Fields
import io.github.httpipc.bhttp.Limits
import io.github.httpipc.bhttp.MessageWriter
import io.github.httpipc.bhttp.Request
import java.io.ByteArrayInputStream
import java.io.ByteArrayOutputStream
import java.io.IOException
import java.io.InputStream
import java.io.OutputStream

/**
 * The provider side of message mode (protocol section 9): turns one request message into one
 * response message by running [handler].
 *
 * It always answers with a response: a peer [policy] refuses gets `403 forbidden`, a request
 * over [maxMessageSize] `413 too-large`, an undecodable one `400 malformed` or `431 too-large`,
 * a handler that throws `500 handler-panic`, a handler's response that cannot be sent as it is
 * (an invalid field, a content-length that disagrees with the content) `500 invalid-response`,
 * and a response that does not fit in [maxMessageSize] `500 response-too-large`. The host code (a Binder `onTransact`, a D-Bus
 * method) passes the bytes it received and the caller's identity to [serveMessage], and sends
 * back what it returns. Safe for concurrent use if [handler] is.
 *
 * @property handler answers requests.
 * @property policy decides which peers are served.
 * @property maxMessageSize bounds request and response messages, in bytes.
 * @property limits bounds each field section of a request.
 */
class MessageServer(
  val handler: HttpHandler,
  val policy: Policy,
  val maxMessageSize: Int = DEFAULT_MAX_MESSAGE_SIZE,
  val limits: Limits = Limits(),
) {
  init {
    require(maxMessageSize > 0) { "maxMessageSize $maxMessageSize" }
  }

  /** Decodes [request] from [peer], runs the handler and returns the response message. */
  fun serveMessage(request: ByteArray, peer: PeerCredentials?): ByteArray {
    policy.check(peer)?.let { return ErrorResponse.encode(403, ErrorResponse.FORBIDDEN, it) }
    if (request.size > maxMessageSize) {
      return ErrorResponse.encode(
        413, ErrorResponse.TOO_LARGE,
        "request message of ${request.size} bytes exceeds the limit of $maxMessageSize",
      )
    }
    val msg = try {
      Bhttp.decodeRequest(request, limits)
    } catch (e: BhttpException) {
      return if (e.kind == BhttpException.Kind.TOO_LARGE) ErrorResponse.encode(431, ErrorResponse.TOO_LARGE, e.message!!)
      else ErrorResponse.encode(400, ErrorResponse.MALFORMED, e.message!!)
    }
    if (msg.path != "*" && !msg.path.startsWith("/")) {
      return ErrorResponse.encode(400, ErrorResponse.MALFORMED, "path \"${msg.path}\" is not in origin form")
    }
    val req = WholeRequest(msg, peer)
    val isHead = msg.method == "HEAD"
    val resp = BufferedResponse(maxMessageSize, isHead)
    try {
      handler.handle(req, resp)
    } catch (e: Exception) {
      if (resp.tooBig) return tooLarge("response body over $maxMessageSize bytes")
      return ErrorResponse.encode(500, ErrorResponse.HANDLER_PANIC, "internal server error")
    }
    if (resp.tooBig) return tooLarge("response body over $maxMessageSize bytes")
    return resp.encode()
  }

  private fun tooLarge(why: String) = ErrorResponse.encode(500, ErrorResponse.RESPONSE_TOO_LARGE, "message: too large for one message: $why")

  /** A request held whole, as the handler sees it. */
  private class WholeRequest(private val m: Request, override val peer: PeerCredentials?) : ServerRequest {
    override val method get() = m.method
    override val scheme get() = m.scheme
    override val authority: String
    override val path get() = m.path
    override val headers: Fields = m.fields
    override val body: InputStream = ByteArrayInputStream(m.content)

    init {
      // The authority is the host; a host field stands in when it is empty, and is removed.
      authority = m.authority.ifEmpty { m.fields["host"] ?: "" }
      headers.remove("host")
    }

    override fun trailers(): Fields? = m.trailers
  }

  /** Collects a whole response, refusing to grow past max. */
  private inner class BufferedResponse(private val max: Int, private val isHead: Boolean) : ServerResponse {
    private val info = ArrayList<Pair<Int, Fields>>(0)
    private val content = object : ByteArrayOutputStream() {
      fun array(): ByteArray = buf
    }
    var tooBig = false
    private var statusSet = 200

    override var status: Int
      get() = statusSet
      set(value) {
        require(value in 200..599) { "status $value is not in 200-599" }
        statusSet = value
      }
    override val headers = Fields()
    override val trailers = Fields()

    override fun informational(status: Int, headers: Fields) {
      require(status in 100..199 && status != 101) { "informational status $status is not in 100-199 (101 is not used)" }
      if (info.size >= Limits.MAX_INFORMATIONAL) throw IllegalStateException("more than ${Limits.MAX_INFORMATIONAL} informational responses")
      info.add(status to headers.copy())
    }

    override val body: OutputStream = object : OutputStream() {
      override fun write(b: Int) = write(byteArrayOf(b.toByte()), 0, 1)

      override fun write(b: ByteArray, off: Int, len: Int) {
        // A HEAD, 204 or 304 response has no content: what the handler writes is dropped.
        if (isHead || statusSet == 204 || statusSet == 304) return
        if (content.size() + len > max) {
          tooBig = true
          throw IOException("message: too large for one message: response body over $max bytes")
        }
        content.write(b, off, len)
      }
    }

    fun encode(): ByteArray {
      val noContent = isHead || statusSet == 204 || statusSet == 304
      val n = if (noContent) 0 else content.size()
      val fields = headers
      val cl = fields["content-length"]
      if (cl == null) {
        // The whole content is known; HEAD and 304 keep the handler's, 204 has none (RFC 9110 8.6).
        if (!noContent) fields.add("content-length", n.toString())
      } else if (!noContent && cl != n.toString()) {
        return ErrorResponse.encode(500, ErrorResponse.INVALID_RESPONSE, "the handler's content-length $cl disagrees with its $n bytes of content")
      }
      val out = ByteArrayOutputStream(n + 256)
      val w = MessageWriter(out)
      try {
        w.responseStart()
        for ((s, f) in info) w.informational(s, f)
        w.responseHead(statusSet, fields)
        w.chunk(content.array(), 0, n)
        w.end(trailers)
        w.flush()
      } catch (e: IllegalArgumentException) {
        // The handler set a field that may not be sent (protocol section 3, rule 3).
        return ErrorResponse.encode(500, ErrorResponse.INVALID_RESPONSE, e.message ?: "invalid response head")
      }
      if (out.size() > max) {
        return tooLarge("the response message is ${out.size()} bytes, the limit $max")
      }
      return out.toByteArray()
    }
  }

  /** Constants of message mode. */
  companion object {
    /** The message size limit when none is configured: 256 KiB, a quarter of Binder's buffer. */
    const val DEFAULT_MAX_MESSAGE_SIZE: Int = 256 * 1024
  }
}
