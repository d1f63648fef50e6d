package io.github.httpipc.message

import io.github.httpipc.bhttp.Bhttp
import io.github.httpipc.bhttp.Limits
import io.github.httpipc.bhttp.Request
import io.github.httpipc.bhttp.Response
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
 * The client side of message mode (protocol section 8a): sends each request as one message
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
   * with [MessageTooLargeException] before anything is sent; an undecodable response with a
   * [io.github.httpipc.bhttp.BhttpException]. A response to HEAD has empty content.
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
    return if (request.method == "HEAD") Bhttp.decodeHeadResponse(out, limits) else Bhttp.decodeResponse(out, limits)
  }
}
