package io.github.httpipc.message

import io.github.httpipc.bhttp.Bhttp
import io.github.httpipc.bhttp.BhttpException
import io.github.httpipc.bhttp.ErrorResponse
import io.github.httpipc.bhttp.Limits
import io.github.httpipc.bhttp.Request
import io.github.httpipc.bhttp.Response
import io.github.httpipc.client.IpcProtocolException
import io.github.httpipc.client.RefusedException
import java.io.IOException

/**
 * A message channel to a provider: delivers one request message and returns the provider's
 * one response message (a Binder transaction, an XPC message with reply, a D-Bus method call).
 * It may block; it throws [IOException] when the channel fails.
 */
fun interface MessageChannel {
  /** Sends [request] and returns the response message. */
  fun call(request: ByteArray): ByteArray
}

/** A request or response does not fit in one message of the channel. */
class MessageTooLargeException(message: String) : IOException(message)

/**
 * The client side of message mode (protocol section 9): sends each request as one message
 * over [channel] and decodes the one message that answers it. Bodies are held in memory,
 * bounded by [maxMessageSize]. Safe for concurrent use if [channel] is.
 *
 * @property channel carries the messages.
 * @property maxMessageSize the largest message the channel carries, in bytes.
 * @property limits bounds each field section of a response.
 */
class MessageTransport(
  val channel: MessageChannel,
  val maxMessageSize: Int = MessageServer.DEFAULT_MAX_MESSAGE_SIZE,
  val limits: Limits = Limits(),
) {
  /**
   * Sends [request] and returns the response. A request that does not fit in one message fails
   * with [MessageTooLargeException] before anything is sent. A provider's refusal of the caller
   * (`403` with `httpipc-error: forbidden`, or `503` with `httpipc-error: too-many`) fails with
   * [RefusedException] carrying its reason, as a refusal preface does on a stream, and an
   * undecodable response with [IpcProtocolException]. A response to HEAD has empty content.
   */
  fun execute(request: Request): Response {
    if (request.content.size > maxMessageSize) {
      throw MessageTooLargeException("request body of ${request.content.size} bytes, channel limit $maxMessageSize bytes")
    }
    val msg = Bhttp.encodeRequest(request)
    if (msg.size > maxMessageSize) {
      throw MessageTooLargeException("request message of ${msg.size} bytes, channel limit $maxMessageSize bytes")
    }
    val out = channel.call(msg)
    if (out.size > maxMessageSize) {
      throw MessageTooLargeException("response message of ${out.size} bytes, channel limit $maxMessageSize bytes")
    }
    val resp = try {
      if (request.method == "HEAD") Bhttp.decodeHeadResponse(out, limits) else Bhttp.decodeResponse(out, limits)
    } catch (e: BhttpException) {
      throw IpcProtocolException("response message: ${e.message}", e)
    }
    val code = resp.fields[ErrorResponse.FIELD]
    if (resp.status == 403 && code == ErrorResponse.FORBIDDEN || resp.status == 503 && code == ErrorResponse.TOO_MANY) {
      throw RefusedException(String(resp.content, Charsets.UTF_8).trim().ifEmpty { "(no reason given)" })
    }
    return resp
  }
}
