package io.github.httpipc.bhttp

/**
 * The responses a provider generates itself for protocol errors (protocol section 4), on
 * streams and in message mode: the status, the fields `cache-control: no-store`,
 * `content-type: text/plain; charset=utf-8` and `httpipc-error: CODE`, no `content-length`,
 * and one line of text in one chunk.
 */
object ErrorResponse {
  /** The field that marks a response httpipc generated itself. */
  const val FIELD: String = "httpipc-error"

  /** 400: the request breaks RFC 9292 or a rule of protocol section 3. */
  const val MALFORMED: String = "malformed"

  /** 403: message mode, the provider's policy refused the caller. */
  const val FORBIDDEN: String = "forbidden"

  /** 413 or 431: a body, message or field section over a limit. */
  const val TOO_LARGE: String = "too-large"

  /** 500: the handler failed before it started a response. */
  const val HANDLER_PANIC: String = "handler-panic"

  /** 500: message mode, the handler's response does not fit in one message. */
  const val RESPONSE_TOO_LARGE: String = "response-too-large"

  /** 500: the handler's response head cannot be encoded (a field breaking protocol section 3, rule 3). */
  const val INVALID_RESPONSE: String = "invalid-response"

  /** 502: an adapter could not get an answer from the HTTP server it forwards to. */
  const val UPSTREAM_FAILED: String = "upstream-failed"

  /** 503: message mode, a channel over the provider's cap. */
  const val TOO_MANY: String = "too-many"

  /** The header section of a generated response with [code]. */
  fun fields(code: String): Fields =
    Fields("cache-control" to "no-store", "content-type" to "text/plain; charset=utf-8", FIELD to code)

  /**
   * Appends the final head, content ([message] and LF) and end of a generated response to [w],
   * after [MessageWriter.responseStart].
   */
  fun write(w: MessageWriter, status: Int, code: String, message: String) {
    w.responseHead(status, fields(code))
    w.chunk((message + "\n").toByteArray(Charsets.UTF_8))
    w.end(null)
  }

  /** A whole generated response message, framing indicator included. */
  fun encode(status: Int, code: String, message: String): ByteArray {
    val out = java.io.ByteArrayOutputStream(128 + message.length)
    val w = MessageWriter(out)
    w.responseStart()
    write(w, status, code, message)
    w.flush()
    return out.toByteArray()
  }
}
