package io.github.httpipc.android

import android.app.Application
import android.content.ComponentName
import android.content.Intent
import android.content.pm.PackageInfo
import android.content.pm.ServiceInfo
import android.content.pm.ApplicationInfo
import android.os.IBinder
import android.os.ParcelFileDescriptor
import android.os.Process
import io.github.httpipc.bhttp.Request
import io.github.httpipc.client.ProviderIdentityException
import io.github.httpipc.client.RefusedException
import java.util.concurrent.CompletableFuture
import java.util.concurrent.ExecutionException
import java.util.concurrent.TimeUnit
import okhttp3.MediaType.Companion.toMediaType
import okhttp3.Request as OkRequest
import okhttp3.RequestBody
import okio.BufferedSink
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.android.controller.ServiceController
import org.robolectric.annotation.Config
import org.robolectric.shadow.api.Shadow
import org.robolectric.shadows.ShadowBinder

/**
 * The Binder binding under Robolectric: the framework's own Binder, Parcel, Service,
 * PackageManager and bindService code of Android 14, in one JVM process. Robolectric does not
 * start services on bindService: each test creates the provider service (as the system would)
 * and registers its binder for the client's intent.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [34], manifest = Config.NONE)
class BinderTest {
  private lateinit var app: Application
  private lateinit var component: ComponentName
  private val controllers = ArrayList<ServiceController<TestProvider>>()
  private val clients = ArrayList<HttpIpcClient>()
  private val ownCert = byteArrayOf(1, 2, 3, 4)
  private val otherCert = byteArrayOf(9, 9, 9)

  @Before
  fun setUp() {
    app = RuntimeEnvironment.getApplication()
    component = ComponentName(app.packageName, TestProvider::class.java.name)
    val pm = shadowOf(app.packageManager)
    pm.getInternalMutablePackageInfo(app.packageName).signingInfo = signingInfo(ownCert)
    pm.addOrUpdateService(ServiceInfo().apply {
      packageName = app.packageName
      name = TestProvider::class.java.name
      exported = true
      applicationInfo = app.applicationInfo
    })
  }

  @After
  fun tearDown() {
    clients.forEach { it.close() }
    controllers.forEach { it.get().release.countDown() }
  }



  /** Starts a provider instance, as the system would on the first bind, and hands out its binder. */
  private fun startProvider(): TestProvider {
    val c = startForBind(app, TestProvider::class.java, component)
    controllers.add(c)
    return c.get()
  }

  private fun client(path: StreamPath = StreamPath.LINK, certs: Set<String> = setOf(sha256Of(ownCert))) =
    HttpIpcClient(app, AndroidServiceAddress.parse("android:${app.packageName}/${TestProvider::class.java.name}"), HttpIpcClientOptions(certs, streamPath = path))
      .also { clients.add(it) }

  private fun get(c: HttpIpcClient, path: String) = c.callFactory().newCall(OkRequest.Builder().url("http://provider$path").build()).execute()

  @Test
  fun messageModeAndStreamsOverOnewayTransactions() {
    startProvider()
    val c = client()
    val r = c.messageTransport().execute(Request("GET", "http", "provider", "/hello"))
    assertEquals(200, r.status)
    assertTrue(String(r.content).endsWith("to uid ${Process.myUid()}"))
    get(c, "/hello").use { resp ->
      assertEquals(200, resp.code)
      assertTrue(resp.body.string().endsWith("to uid ${Process.myUid()}"))
    }
    // A message above the binding's 128 KiB never leaves the client.
    try {
      c.messageTransport().execute(Request("POST", "http", "provider", "/echo", content = ByteArray(200 * 1024)))
      fail("an oversized message was sent")
    } catch (e: io.github.httpipc.message.MessageTooLargeException) {
    }
    // One the provider receives anyway is answered 413.
    val raw = io.github.httpipc.bhttp.Bhttp.encodeRequest(Request("POST", "http", "provider", "/echo", content = ByteArray(200 * 1024)))
    val tooLarge = io.github.httpipc.bhttp.Bhttp.decodeResponse(c.messageChannel().call(raw))
    assertEquals(413, tooLarge.status)
  }

  @Test
  fun sixteenMebibytesEachWayOverALink() {
    startProvider()
    val c = client()
    val size = 16L * 1024 * 1024
    get(c, "/big?n=$size").use { resp ->
      var n = 0L
      val src = resp.body.source()
      while (!src.exhausted()) n += src.buffer.size.also { src.buffer.clear() }
      assertEquals(size, n)
    }
    val body = object : RequestBody() {
      override fun contentType() = "application/octet-stream".toMediaType()
      override fun contentLength() = size
      override fun writeTo(sink: BufferedSink) {
        val buf = ByteArray(64 * 1024) { it.toByte() }
        var left = size
        while (left > 0) { sink.write(buf); left -= buf.size }
      }
    }
    c.callFactory().newCall(OkRequest.Builder().url("http://provider/echo").post(body).build()).execute().use { resp ->
      var n = 0L
      val src = resp.body.source()
      while (!src.exhausted()) n += src.buffer.size.also { src.buffer.clear() }
      assertEquals(size, n)
    }
  }

  @Test
  fun callersOfAnotherUidOrPackageAreRefused() {
    startProvider()
    val strangerUid = 12345
    val pm = shadowOf(app.packageManager)
    pm.installPackage(PackageInfo().apply {
      packageName = "com.example.stranger"
      applicationInfo = ApplicationInfo().apply { uid = strangerUid; packageName = "com.example.stranger" }
      signingInfo = signingInfo(otherCert)
    })
    pm.setPackagesForUid(strangerUid, "com.example.stranger")
    val c = client()
    // Every transaction now comes from the stranger (Robolectric 4.16 sets it for all threads).
    ShadowBinder.setCallingUid(strangerUid)
    ShadowBinder.setCallingPid(4242)
    try {
      try {
        c.messageTransport().execute(Request("GET", "http", "provider", "/hello"))
        fail("a stranger's call was served")
      } catch (e: RefusedException) {
        assertTrue(e.reason, e.reason.contains("com.example.stranger"))
      }
      try {
        get(c, "/hello").close()
        fail("a stranger's stream was served")
      } catch (e: RefusedException) {
        assertTrue(e.reason, e.reason.contains("com.example.stranger"))
      }
    } finally {
      ShadowBinder.reset()
    }
  }

  @Test
  fun aProviderSignedWithAnotherCertificateIsNeverBound() {
    startProvider()
    val c = client(certs = setOf(sha256Of(otherCert)))
    try {
      get(c, "/hello").close()
      fail("bound a provider of another certificate")
    } catch (e: ProviderIdentityException) {
    }
    assertTrue(shadowOf(app).boundServiceConnections.isEmpty())
  }

  @Test
  fun providerDyingMidCallFailsTheCallAndTheNextCallBindsAgain() {
    val first = startProvider()
    val c = client()
    get(c, "/hello").use { assertEquals(200, it.code) }
    val call = CompletableFuture.supplyAsync {
      get(c, "/stall").use { it.body.bytes() }
    }
    assertTrue(first.stalled.await(10, TimeUnit.SECONDS))
    // The provider's process dies: the system tells the client's death recipients.
    val binder: IBinder = first.onBind(Intent())
    val started = System.nanoTime()
    for (r in Shadow.extract<ShadowBinder>(binder).deathRecipients) r.binderDied()
    try {
      call.get(5, TimeUnit.SECONDS)
      fail("the call survived its provider")
    } catch (e: ExecutionException) {
      val ms = (System.nanoTime() - started) / 1e6
      println("httpipc: provider death reported to the call after %.2f ms".format(ms))
      assertTrue("${e.cause}", e.cause is ProviderDiedException)
    }
    controllers.first().destroy()
    val second = startProvider()
    get(c, "/hello").use { resp ->
      val text = resp.body.string()
      assertTrue(text, text.startsWith("hello from ${System.identityHashCode(second)}"))
    }
    // The dead binding was unbound and a new one made.
    assertEquals(1, shadowOf(app).unboundServiceConnections.size)
    assertEquals(1, shadowOf(app).boundServiceConnections.size)
  }

  @Test
  fun robolectricCannotMakeASocketpair() {
    // ParcelFileDescriptor.createSocketPair() calls Os.socketpair, a native method that
    // Robolectric neither runs nor shadows: the descriptors it returns are not open, and
    // ShadowParcelFileDescriptor only knows descriptors it opened on files. The descriptor
    // path is therefore tested with a real socketpair outside Robolectric (DescriptorPathTest).
    val pair = ParcelFileDescriptor.createSocketPair()
    assertFalse(pair[0].fileDescriptor.valid() && pair[1].fileDescriptor.valid())
  }

  @Test
  fun addresses() {
    val a = AndroidServiceAddress.parse("android:org.example.lms/.api.LmsService")
    assertEquals("org.example.lms.api.LmsService", a.className)
    assertEquals("android:org.example.lms/org.example.lms.api.LmsService", a.toString())
    for (bad in listOf("android:org.example.lms", "android:/x.Y", "unix:/x", "android:org/x.Y", " android:a.b/c.D")) {
      try {
        AndroidServiceAddress.parse(bad)
        fail("parsed $bad")
      } catch (_: IllegalArgumentException) {
      }
    }
  }
}
