package io.github.httpipc.adapter

import io.github.httpipc.HttpHandler
import io.github.httpipc.ServerRequest
import io.github.httpipc.ServerResponse
import io.github.httpipc.server.isCancelled
import java.io.IOException
import java.util.logging.Logger
import okhttp3.HttpUrl
import okhttp3.HttpUrl.Companion.toHttpUrl
import okhttp3.MediaType.Companion.toMediaTypeOrNull
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody
import okio.BufferedSink

/**
 * An [HttpHandler] that forwards every request to the HTTP server at [upstream] (a base URL such
 * as `http://127.0.0.1:8080/api`), streaming both ways, so an app with an embedded HTTP server can
 * expose it over IPC unchanged.
 *
 * The request path is appended to the base URL's path; `x-forwarded-host` and
 * `x-forwarded-proto` tell the upstream what the client asked for. Hop-by-hop fields are not
 * forwarded. When the upstream cannot be reached or fails before its response head, the answer
 * is `502` with `httpipc-error: upstream-failed` (protocol section 4), so that a client can tell
 * it from the upstream's own 502. Redirects are passed through, not followed.
 */
class UpstreamHandler @JvmOverloads constructor(
  upstream: String,
  client: OkHttpClient = OkHttpClient(),
) : HttpHandler {
  private val base: HttpUrl = upstream.toHttpUrl()
  private val client = client.newBuilder().followRedirects(false).followSslRedirects(false).build()
  private val log = Logger.getLogger("io.github.httpipc")

  override fun handle(request: ServerRequest, response: ServerResponse) {
    val target = request.path
    val url = (base.toString().trimEnd('/') + (if (target == "*") "/" else target)).toHttpUrl()
    val b = Request.Builder().url(url)
    for ((n, v) in request.headers) if (n !in HOP_BY_HOP && n != "host") b.addHeader(n, v)
    if (request.authority.isNotEmpty()) b.header("x-forwarded-host", request.authority)
    b.header("x-forwarded-proto", "http")
    b.method(request.method, if (request.method in NO_BODY) null else StreamingBody(request))
    val upstreamResponse = try {
      client.newCall(b.build()).execute()
    } catch (e: IOException) {
      if (request.isCancelled()) return // the caller went away
      log.warning("upstream failed: ${request.method} ${request.path}: $e")
      response.status = 502
      response.headers["cache-control"] = "no-store"
      response.headers["content-type"] = "text/plain; charset=utf-8"
      response.headers["httpipc-error"] = "upstream-failed"
      response.body.write("httpipc serve: the upstream did not answer: ${e.message ?: e}\n".toByteArray())
      return
    }
    upstreamResponse.use { r ->
      response.status = r.code
      for ((n, v) in r.headers) if (n.lowercase() !in HOP_BY_HOP) response.headers.add(n, v)
      val src = r.body.source()
      val buf = ByteArray(32 * 1024)
      while (true) {
        val n = src.read(buf)
        if (n < 0) break
        response.body.write(buf, 0, n)
        response.body.flush() // stream as it comes
      }
      for ((n, v) in r.trailers()) response.trailers.add(n, v)
    }
  }

  /** The request body, streamed to the upstream as the client sends it. */
  private class StreamingBody(private val request: ServerRequest) : RequestBody() {
    override fun contentType() = request.headers["content-type"]?.toMediaTypeOrNull()

    override fun contentLength(): Long = request.headers["content-length"]?.toLongOrNull() ?: -1

    override fun isOneShot() = true

    override fun writeTo(sink: BufferedSink) {
      val buf = ByteArray(32 * 1024)
      while (true) {
        val n = request.body.read(buf)
        if (n < 0) break
        sink.write(buf, 0, n)
        sink.flush()
      }
    }
  }

  private companion object {
    val HOP_BY_HOP = setOf("connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer")
    val NO_BODY = setOf("GET", "HEAD", "OPTIONS", "TRACE", "DELETE")
  }
}
