package io.github.httpipc.android.web

import io.github.httpipc.android.sha256Of
import io.github.httpipc.android.signingInfo
import io.github.httpipc.android.startForBind

import android.content.ComponentName
import android.content.pm.ServiceInfo
import android.net.Uri
import android.webkit.WebResourceRequest
import io.github.httpipc.HttpHandler
import io.github.httpipc.android.AndroidServiceAddress
import io.github.httpipc.android.HttpIpcClient
import io.github.httpipc.android.HttpIpcClientOptions
import io.github.httpipc.android.HttpIpcService
import io.github.httpipc.android.StreamPath
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config

/** The lesson's assets and API: `GET /api/lesson.js` and `GET /api/big?n=N` (N bytes, streamed). */
class AssetsProvider : HttpIpcService() {
  override fun createHandler() = HttpHandler { req, resp ->
    when {
      req.path == "/api/lesson.js" -> {
        resp.headers["content-type"] = "text/javascript; charset=utf-8"
        resp.headers["cache-control"] = "max-age=60"
        resp.body.write("console.log('hi ${req.headers["x-lesson"]}')".toByteArray())
      }
      req.path.startsWith("/api/big?n=") -> {
        resp.headers["content-type"] = "application/octet-stream"
        var left = req.path.substringAfter("=").toInt()
        while (left > 0) {
          val n = minOf(left, 65536)
          resp.body.write(ByteArray(n) { 7 })
          left -= n
        }
      }
      else -> resp.status = 404
    }
  }
}

/** [IpcWebViewClient] under Robolectric, answering from [AssetsProvider] over the Binder client. */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [34], manifest = Config.NONE)
class IpcWebViewClientTest {
  private lateinit var client: HttpIpcClient
  private lateinit var web: IpcWebViewClient

  @Before
  fun setUp() {
    val app = RuntimeEnvironment.getApplication()
    val cert = byteArrayOf(5, 6, 7)
    val pm = shadowOf(app.packageManager)
    pm.getInternalMutablePackageInfo(app.packageName).signingInfo = signingInfo(cert)
    pm.addOrUpdateService(ServiceInfo().apply {
      packageName = app.packageName
      name = AssetsProvider::class.java.name
      exported = true
      applicationInfo = app.applicationInfo
    })
    startForBind(app, AssetsProvider::class.java, ComponentName(app.packageName, AssetsProvider::class.java.name))
    val digest = sha256Of(cert)
    client = HttpIpcClient(app, AndroidServiceAddress.parse("android:${app.packageName}/${AssetsProvider::class.java.name}"),
      HttpIpcClientOptions(setOf(digest), streamPath = StreamPath.LINK))
    web = IpcWebViewClient("https://appassets.androidplatform.net/api/", client.callFactory())
  }

  @After
  fun tearDown() = client.close()

  private fun request(url: String, method: String = "GET", headers: Map<String, String> = emptyMap()) = object : WebResourceRequest {
    override fun getUrl(): Uri = Uri.parse(url)
    override fun isForMainFrame() = false
    override fun isRedirect() = false
    override fun hasGesture() = false
    override fun getMethod() = method
    override fun getRequestHeaders() = headers
  }

  @Test
  fun getUnderTheBaseIsAnsweredByTheProvider() {
    val r = web.shouldInterceptRequest(null, request("https://appassets.androidplatform.net/api/lesson.js", headers = mapOf("X-Lesson" to "7b")))!!
    assertEquals(200, r.statusCode)
    assertEquals("text/javascript", r.mimeType)
    assertEquals("UTF-8", r.encoding)
    assertEquals("max-age=60", r.responseHeaders["cache-control"])
    assertEquals("console.log('hi 7b')", r.data.readBytes().decodeToString())
    assertEquals(404, web.shouldInterceptRequest(null, request("https://appassets.androidplatform.net/api/missing"))!!.statusCode)
  }

  @Test
  fun bodyIsStreamedFromTheProvider() {
    val r = web.shouldInterceptRequest(null, request("https://appassets.androidplatform.net/api/big?n=${8 shl 20}"))!!
    var total = 0L
    val buf = ByteArray(65536)
    r.data.use { while (true) { val n = it.read(buf); if (n < 0) break; total += n } }
    assertEquals(8L shl 20, total)
  }

  @Test
  fun otherUrlsAndPostsAreLetThrough() {
    assertNull(web.shouldInterceptRequest(null, request("https://appassets.androidplatform.net/assets/index.html")))
    assertNull(web.shouldInterceptRequest(null, request("https://example.com/api/lesson.js")))
    // The web view does not hand over a POST's body: it cannot be answered here (use the proxy).
    assertNull(web.shouldInterceptRequest(null, request("https://appassets.androidplatform.net/api/lesson.js", method = "POST")))
  }
}
