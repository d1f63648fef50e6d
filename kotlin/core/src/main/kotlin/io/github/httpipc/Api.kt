package io.github.httpipc

import io.github.httpipc.bhttp.Fields
import java.io.InputStream
import java.io.OutputStream

/**
 * The OS identity of the process at the other end of a connection or message link.
 *
 * Each value is -1 where the transport cannot tell it (for example the pid on a platform that
 * only reports the uid).
 *
 * @property uid the peer's user id, -1 where unknown.
 * @property gid the peer's group id, -1 where unknown.
 * @property pid the peer's process id, -1 where unknown.
 */
data class PeerCredentials(val uid: Int, val gid: Int = -1, val pid: Int = -1)

/**
 * Decides whether a peer may talk to this process.
 *
 * A provider consults its policy before it reads a request; a refused peer gets the error
 * response `403 forbidden` (protocol section 4) carrying the reason.
 */
fun interface Policy {
  /**
   * Returns null to allow [peer], or a short human-readable reason to refuse it.
   * [peer] is null where the transport reports no credentials.
   */
  fun check(peer: PeerCredentials?): String?
}

/** A request as a provider's [HttpHandler] sees it. */
interface ServerRequest {
  /** The request method, for example `GET`. */
  val method: String

  /** The scheme of the request's control data, normally `http`. */
  val scheme: String

  /** The authority of the request's control data; empty when the request carried none. */
  val authority: String

  /** The request target in origin form (`/path?query`). */
  val path: String

  /** The header fields, names lowercase. */
  val headers: Fields

  /** The request content; returns -1 at its end. */
  val body: InputStream

  /** The OS identity of the client, or null where the transport reports none. */
  val peer: PeerCredentials?

  /** The trailer fields, available once [body] returned -1; null when there were none. */
  fun trailers(): Fields?
}

/**
 * How an [HttpHandler] answers a request: set [status] and [headers], then write [body].
 *
 * The head is sent by the first write to (or flush of) [body], or when the handler returns;
 * changes to [status] and [headers] after that have no effect. [trailers] set by the time the
 * handler returns are sent after the content.
 */
interface ServerResponse {
  /** The final status code (200 to 599); 200 unless set. */
  var status: Int

  /** The response header fields; mutable until the head is sent. */
  val headers: Fields

  /** The trailer fields, sent after the content; mutable until the handler returns. */
  val trailers: Fields

  /** Sends an informational (1xx, other than 101) response at once, before the final head. */
  fun informational(status: Int, headers: Fields)

  /** The response content; its first write (or flush) sends the head. */
  val body: OutputStream
}

/**
 * A provider's extension point: answers one request.
 *
 * A handler that throws before the response head is sent causes the error response
 * `500 handler-panic` (protocol section 4); one that throws later aborts the response.
 */
fun interface HttpHandler {
  /** Answers [request] through [response]; the response ends when this returns. */
  fun handle(request: ServerRequest, response: ServerResponse)
}
