package io.github.httpipc.android.auth

import io.github.httpipc.android.sha256Of
import io.github.httpipc.android.signingInfo
import io.github.httpipc.android.startForBind

import android.app.Application
import android.content.ComponentName
import android.content.Intent
import android.content.pm.ServiceInfo
import android.net.Uri
import android.os.Process
import io.github.httpipc.android.AndroidServiceAddress
import io.github.httpipc.android.HttpIpcClientOptions
import io.github.httpipc.android.StreamPath
import io.github.httpipc.client.ProviderIdentityException
import net.openid.appauth.AuthorizationRequest
import net.openid.appauth.AuthorizationResponse
import net.openid.appauth.AuthorizationServiceConfiguration
import net.openid.appauth.ResponseTypeValues
import okhttp3.Interceptor
import okhttp3.MediaType.Companion.toMediaType
import okhttp3.OkHttpClient
import okhttp3.Protocol
import okhttp3.Request
import okhttp3.Response
import okhttp3.ResponseBody.Companion.toResponseBody
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
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

/**
 * Offline login with AppAuth under Robolectric: the authorization app is [LmsProvider], an
 * `HttpIpcService` reached through the Binder client (`HttpIpcClient`, link streams over oneway
 * transactions) of Android 14's framework classes, in one JVM.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [34], manifest = Config.NONE)
class IpcAuthorizationTest {
  private lateinit var app: Application
  private lateinit var provider: LmsProvider
  private val controllers = ArrayList<ServiceController<LmsProvider>>()
  private val sessions = ArrayList<IpcAuthSession>()
  private val cert = byteArrayOf(1, 2, 3, 4)
  private val issuer = "https://lms.example"
  private val lms = "org.example.lms"

  @Before
  fun setUp() {
    app = RuntimeEnvironment.getApplication()
    val pm = shadowOf(app.packageManager)
    pm.getInternalMutablePackageInfo(app.packageName).signingInfo = signingInfo(cert)
    pm.addOrUpdateService(ServiceInfo().apply {
      packageName = app.packageName
      name = LmsProvider::class.java.name
      exported = true
      applicationInfo = app.applicationInfo
    })
    // Robolectric does not start services on bindService: create the provider as the system would.
    val c = startForBind(app, LmsProvider::class.java, ComponentName(app.packageName, LmsProvider::class.java.name))
    controllers.add(c)
    provider = c.get()
  }

  @After
  fun tearDown() {
    sessions.forEach { it.close() }
  }


  private val address get() = AndroidServiceAddress.parse("android:${app.packageName}/${LmsProvider::class.java.name}")

  /**
   * A provider trusted with [signedBy]'s certificate, reached over link streams (oneway
   * transactions): the handed-over descriptor needs java.io opened to Robolectric on this JVM.
   */
  private fun trusted(svc: String, signedBy: ByteArray) =
    TrustedProvider(svc, address, HttpIpcClientOptions(setOf(sha256Of(signedBy)), streamPath = StreamPath.LINK))

  private fun auth(
    server: AuthorizationServer = AuthorizationServer(issuer, lms, issInResponse = true),
    providers: List<TrustedProvider> = listOf(trusted(lms, cert)),
    network: OkHttpClient = OkHttpClient(),
  ) = IpcAuthorization(app, server, providers, network)

  /** The request the app builds with AppAuth: PKCE S256 and a state by default. */
  private fun request(): AuthorizationRequest {
    val config = AuthorizationServiceConfiguration(Uri.parse("$issuer/oauth/authorize"), Uri.parse("$issuer/oauth/token"))
    return AuthorizationRequest.Builder(config, "org.example.math", ResponseTypeValues.CODE, Uri.parse("org.example.math:/oauth/callback"))
      .setScope("roster.read")
      .build()
      .also { provider.challenge = it.codeVerifierChallenge!! }
  }

  /** The redirect as the app's redirect activity receives it. */
  private fun redirect(vararg params: Pair<String, String>): Intent {
    val b = Uri.parse("org.example.math:/oauth/callback").buildUpon()
    params.forEach { (k, v) -> b.appendQueryParameter(k, v) }
    return Intent(Intent.ACTION_VIEW, b.build())
  }

  private fun IpcAuthSession.get(path: String): Response =
    also { sessions.add(it) }.callFactory.newCall(Request.Builder().url("$issuer$path").build()).execute()

  @Test
  fun redirectWithIpcServiceRedeemsOverBinderAndCallsTheApi() {
    val req = request()
    val s = auth().finish(req, redirect("code" to "good-code", "state" to req.state!!, "iss" to issuer, "ipc-service" to lms))
    assertEquals(lms, s.ipcService)
    assertEquals("at-1", s.tokens.accessToken)
    assertEquals("rt-1", s.tokens.refreshToken)
    val form = provider.tokenRequests.single()
    assertEquals("authorization_code", form["grant_type"])
    assertEquals("org.example.math:/oauth/callback", form["redirect_uri"])
    assertEquals(req.codeVerifier, form["code_verifier"])
    s.get("/api/classes").use { r ->
      assertEquals(200, r.code)
      assertEquals("application/json", r.header("content-type"))
      assertEquals("""{"classes":["math-7b"],"uid":${Process.myUid()}}""", r.body.string())
    }
    assertEquals(listOf("Bearer at-1"), provider.apiCalls)
  }

  @Test
  fun appAuthCompletionIntentIsAcceptedToo() {
    val req = request()
    val done = AuthorizationResponse.Builder(req).setState(req.state).setAuthorizationCode("good-code")
      .setAdditionalParameters(mapOf("iss" to issuer, "ipc-service" to lms)).build().toIntent()
    val s = auth().finish(req, done)
    assertEquals(lms, s.ipcService)
    s.get("/api/classes").use { assertEquals(200, it.code) }
  }

  @Test
  fun expiredTokenIsRefreshedOverBinder() {
    provider.expiresIn = 0
    val req = request()
    val s = auth().finish(req, redirect("code" to "good-code", "state" to req.state!!, "iss" to issuer, "ipc-service" to lms))
    s.get("/api/classes").use { assertEquals(200, it.code) }
    assertEquals("refresh_token", provider.tokenRequests[1]["grant_type"])
    assertEquals(listOf("Bearer at-2"), provider.apiCalls)
    assertEquals("rt-1", s.tokens.refreshToken)
  }

  @Test
  fun wrongStateIsRefusedBeforeAnyTokenRequest() {
    val req = request()
    expect<StateException> { auth().finish(req, redirect("code" to "good-code", "state" to "someone-elses", "iss" to issuer, "ipc-service" to lms)) }
    expect<StateException> { auth().finish(req, redirect("code" to "good-code", "iss" to issuer, "ipc-service" to lms)) }
    assertTrue(provider.tokenRequests.isEmpty())
  }

  @Test
  fun ipcServiceNotBoundToTheIssuerIsRefusedEvenWhenTrusted() {
    val req = request()
    // org.evil.lms is a provider this app trusts too, but not the one of this login's server.
    val both = listOf(trusted(lms, cert), trusted("org.evil.lms", cert))
    expect<IpcServiceException> {
      auth(providers = both).finish(req, redirect("code" to "good-code", "state" to req.state!!, "iss" to issuer, "ipc-service" to "org.evil.lms"))
    }
    // A server with no ipc_service: no ipc-service is accepted.
    expect<IpcServiceException> {
      auth(server = AuthorizationServer(issuer, null, true), providers = both)
        .finish(req, redirect("code" to "good-code", "state" to req.state!!, "iss" to issuer, "ipc-service" to lms))
    }
    // The server's own ipc-service, but not a provider this app registered.
    expect<IpcServiceException> {
      auth(providers = emptyList()).finish(req, redirect("code" to "good-code", "state" to req.state!!, "iss" to issuer, "ipc-service" to lms))
    }
    assertTrue(provider.tokenRequests.isEmpty())
  }

  @Test
  fun wrongOrMissingIssIsRefused() {
    val req = request()
    expect<IssuerException> { auth().finish(req, redirect("code" to "good-code", "state" to req.state!!, "iss" to "https://evil.example", "ipc-service" to lms)) }
    expect<IssuerException> { auth().finish(req, redirect("code" to "good-code", "state" to req.state!!, "ipc-service" to lms)) }
    // An error redirect from another issuer is that, not the error it claims.
    expect<IssuerException> { auth().finish(req, redirect("error" to "access_denied", "state" to req.state!!, "iss" to "https://evil.example")) }
    assertTrue(provider.tokenRequests.isEmpty())
  }

  @Test
  fun providerWithAnotherCertificateIsNotSentTheCode() {
    val req = request()
    val impostor = listOf(trusted(lms, byteArrayOf(9, 9)))
    expect<ProviderIdentityException> {
      auth(providers = impostor).finish(req, redirect("code" to "good-code", "state" to req.state!!, "iss" to issuer, "ipc-service" to lms))
    }
    assertTrue(provider.tokenRequests.isEmpty())
  }

  @Test
  fun errorsOfTheServerAreOAuthErrors() {
    val req = request()
    val denied = expect<OAuthErrorException> { auth().finish(req, redirect("error" to "access_denied", "state" to req.state!!, "iss" to issuer)) }
    assertEquals("access_denied", denied.code)
    val bad = expect<OAuthErrorException> { auth().finish(req, redirect("code" to "spent", "state" to req.state!!, "iss" to issuer, "ipc-service" to lms)) }
    assertEquals("invalid_grant", bad.code)
    assertTrue("the message quotes no code", "spent" !in bad.message!!)
  }

  @Test
  fun redirectWithoutIpcServiceGoesOverTheNetwork() {
    val seen = ArrayList<String>()
    // The network, answered by an interceptor: nothing leaves the JVM.
    val network = OkHttpClient.Builder().addInterceptor(Interceptor { chain ->
      val r = chain.request()
      seen.add("${r.method} ${r.url} ${r.header("Authorization") ?: "-"}")
      val body = if (r.url.encodedPath == "/oauth/token") """{"access_token":"net-1","token_type":"bearer","expires_in":3600}""" else """{"classes":[]}"""
      Response.Builder().request(r).protocol(Protocol.HTTP_1_1).code(200).message("OK")
        .body(body.toResponseBody("application/json".toMediaType())).build()
    }).build()
    val req = request()
    val s = auth(network = network).finish(req, redirect("code" to "good-code", "state" to req.state!!, "iss" to issuer))
    assertNull(s.ipcService)
    s.get("/api/classes").use { assertEquals("""{"classes":[]}""", it.body.string()) }
    assertEquals(listOf("POST $issuer/oauth/token -", "GET $issuer/api/classes Bearer net-1"), seen)
    assertTrue(provider.tokenRequests.isEmpty())
  }

  private inline fun <reified T : Throwable> expect(block: () -> Unit): T {
    try {
      block()
    } catch (e: Throwable) {
      if (e is T) return e
      throw AssertionError("want ${T::class.simpleName}, got $e", e)
    }
    fail("want ${T::class.simpleName}, got no error")
    throw IllegalStateException()
  }
}
