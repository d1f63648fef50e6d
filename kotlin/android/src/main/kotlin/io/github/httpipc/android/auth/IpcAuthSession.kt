package io.github.httpipc.android.auth

import io.github.httpipc.android.HttpIpcClient
import java.io.Closeable
import java.io.IOException
import net.openid.appauth.GrantTypeValues
import net.openid.appauth.TokenRequest
import net.openid.appauth.TokenResponse
import okhttp3.Call
import okhttp3.FormBody
import okhttp3.Interceptor
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.Response
import org.json.JSONException
import org.json.JSONObject

/**
 * A finished login: the tokens, and a [callFactory] that reaches the API with them, over IPC when
 * the redirect named a trusted `ipc-service` and over the network otherwise. The app's OkHttp and
 * Retrofit code is the same both ways (`Retrofit.Builder().callFactory(session.callFactory)`):
 * over IPC, a request's URL keeps its path and query and goes to the provider whatever its host.
 *
 * Each call carries `Authorization: Bearer` with the current access token (added before the
 * client's own interceptors run, so they see it); one that has expired
 * is refreshed first (when there is a refresh token) through the same path, IPC or network. Use
 * [callFactory] only for this provider's API: every request it makes carries the token.
 * [close] unbinds from the provider.
 */
class IpcAuthSession private constructor(
  /** The provider's `ipc-service`, or null when the login went over the network. */
  val ipcService: String?,
  initial: TokenResponse,
  private val tokenCalls: Call.Factory,
  base: OkHttpClient,
  private val ipc: HttpIpcClient?,
) : Closeable {
  private val lock = Any()
  private var current: TokenResponse = initial

  /** The current token response (changes when the access token is refreshed). */
  val tokens: TokenResponse get() = synchronized(lock) { current }

  /** Calls to the API, with the bearer token; Retrofit takes it as its `callFactory`. */
  val callFactory: Call.Factory = base.newBuilder().apply { interceptors().add(0, Bearer()) }.build().let { withBearer ->
    ipc?.callFactory(withBearer) ?: withBearer
  }

  /** Unbinds from the provider (calls in flight fail); nothing to do for a network session. */
  override fun close() {
    ipc?.close()
  }

  /** The access token to send, refreshed first when it has expired. */
  private fun accessToken(): String = synchronized(lock) {
    val t = current
    val expired = t.accessTokenExpirationTime?.let { System.currentTimeMillis() + EXPIRY_MARGIN_MS >= it } ?: false
    if (expired && t.refreshToken != null) {
      val req = TokenRequest.Builder(t.request.configuration, t.request.clientId)
        .setGrantType(GrantTypeValues.REFRESH_TOKEN)
        .setRefreshToken(t.refreshToken)
        .build()
      val fresh = exchange(req, tokenCalls)
      // A server that does not rotate the refresh token keeps the old one valid.
      current = if (fresh.refreshToken != null) fresh else TokenResponse.Builder(req)
        .setTokenType(fresh.tokenType)
        .setAccessToken(fresh.accessToken)
        .setAccessTokenExpirationTime(fresh.accessTokenExpirationTime)
        .setIdToken(fresh.idToken)
        .setScope(fresh.scope)
        .setAdditionalParameters(fresh.additionalParameters)
        .setRefreshToken(t.refreshToken)
        .build()
    }
    current.accessToken ?: throw IpcAuthException("httpipc auth: the token response has no access token")
  }

  private inner class Bearer : Interceptor {
    override fun intercept(chain: Interceptor.Chain): Response =
      chain.proceed(chain.request().newBuilder().header("Authorization", "Bearer ${accessToken()}").build())
  }

  internal companion object {
    /** A token this close to its expiry is refreshed before use. */
    private const val EXPIRY_MARGIN_MS = 10_000L

    /** Redeems [request] through [tokenCalls] and returns the session. */
    fun redeem(request: TokenRequest, base: OkHttpClient, tokenCalls: Call.Factory, svc: String?, ipc: HttpIpcClient?): IpcAuthSession =
      IpcAuthSession(svc, exchange(request, tokenCalls), tokenCalls, base, ipc)

    /** POSTs [request] to its token endpoint (form-encoded, public client) and parses the answer. */
    fun exchange(request: TokenRequest, calls: Call.Factory): TokenResponse {
      val form = FormBody.Builder()
      val params = request.requestParameters
      params.forEach { (k, v) -> form.add(k, v) }
      if ("client_id" !in params) form.add("client_id", request.clientId)
      val http = Request.Builder()
        .url(request.configuration.tokenEndpoint.toString())
        .header("Accept", "application/json")
        .post(form.build())
        .build()
      calls.newCall(http).execute().use { resp ->
        val body = resp.body.string()
        val json = try {
          JSONObject(body)
        } catch (_: JSONException) {
          throw IOException("httpipc auth: the token endpoint answered ${resp.code} without JSON")
        }
        if (!resp.isSuccessful || json.has("error")) {
          throw OAuthErrorException(json.optString("error").ifEmpty { "http_${resp.code}" }, json.optString("error_description").ifEmpty { null })
        }
        return try {
          TokenResponse.Builder(request).fromResponseJson(json).build()
        } catch (e: Exception) {
          throw IOException("httpipc auth: the token response is not valid: ${e.message}")
        }
      }
    }
  }
}
