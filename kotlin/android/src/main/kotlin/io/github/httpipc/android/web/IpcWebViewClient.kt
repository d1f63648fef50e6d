package io.github.httpipc.android.web

import android.webkit.WebResourceRequest
import android.webkit.WebResourceResponse
import android.webkit.WebView
import android.webkit.WebViewClient
import java.io.ByteArrayInputStream
import java.io.IOException
import okhttp3.Call
import okhttp3.Request

/**
 * A `WebViewClient` that answers a web view's requests under [baseUrl] (such as
 * `https://appassets.androidplatform.net/api/`) over IPC with [callFactory], and lets every other
 * request through to the web view. The provider sees the request's URL, method and headers; its
 * status, headers and body come back, the body streamed as the page reads it.
 *
 * Limits of `shouldInterceptRequest`, which this relies on: only `GET` and `HEAD` are answered
 * (the web view does not hand over a request's body, so a `POST` of a form or `fetch` is let
 * through, not intercepted); a response cannot be a redirect (3xx becomes `502`); cookies the
 * provider sets are not stored. Pages that POST (xAPI statements) or send bodies use the localhost
 * proxy instead (examples/README.md, "Web views on Android"). Runs on the web view's I/O thread.
 */
open class IpcWebViewClient(
  /** The URL prefix answered over IPC; it must end with `/`. */
  val baseUrl: String,
  /** Where intercepted requests go: an IPC `Call.Factory`, such as `IpcAuthSession.callFactory`. */
  private val callFactory: Call.Factory,
) : WebViewClient() {
  init {
    require(baseUrl.endsWith("/")) { "httpipc: baseUrl must end with /" }
  }

  override fun shouldInterceptRequest(view: WebView?, request: WebResourceRequest): WebResourceResponse? {
    val url = request.url.toString()
    if (!url.startsWith(baseUrl) || request.method !in INTERCEPTED) return null
    val call = Request.Builder().url(url).method(request.method, null).apply {
      request.requestHeaders?.forEach { (k, v) -> header(k, v) }
    }.build()
    val resp = try {
      callFactory.newCall(call).execute()
    } catch (e: IOException) {
      return plain(502, "Bad Gateway", "httpipc: the provider could not be reached: ${e.message}\n")
    }
    if (resp.code in 300..399) {
      resp.close()
      return plain(502, "Bad Gateway", "httpipc: the provider answered a redirect, which a web view cannot take here\n")
    }
    val type = resp.body.contentType()
    val headers = LinkedHashMap<String, String>()
    for (name in resp.headers.names()) headers[name] = resp.headers.values(name).joinToString(", ")
    return WebResourceResponse(
      type?.let { "${it.type}/${it.subtype}" } ?: "application/octet-stream",
      type?.charset()?.name(),
      resp.code,
      resp.message.ifEmpty { "Status ${resp.code}" },
      headers,
      resp.body.byteStream(),
    )
  }

  private fun plain(status: Int, reason: String, text: String) =
    WebResourceResponse("text/plain", "utf-8", status, reason, mapOf("Cache-Control" to "no-store"), ByteArrayInputStream(text.toByteArray()))

  private companion object {
    val INTERCEPTED = setOf("GET", "HEAD")
  }
}
