package io.github.httpipc.android.auth

import android.content.Context
import android.content.Intent
import android.net.Uri
import io.github.httpipc.android.HttpIpcClient
import java.security.MessageDigest
import net.openid.appauth.AuthorizationException
import net.openid.appauth.AuthorizationRequest
import net.openid.appauth.AuthorizationResponse
import okhttp3.OkHttpClient

/**
 * Offline OAuth for an Android client app with AppAuth-Android (docs/OAUTH.md): finishes a login
 * whose redirect may carry httpipc's `ipc-service` parameter, redeeming the code over Binder when
 * it does and over the network when it does not.
 *
 * The app builds its AppAuth [AuthorizationRequest] as usual (PKCE `S256`, a state), opens it
 * (`request.toUri()` in a browser or the authorization app, or AppAuth's `AuthorizationService`)
 * and hands the redirect [Intent] it receives to [finish]. [finish] accepts the redirect only under
 * docs/OAUTH.md's rules: its `state` is the request's ([StateException]); its `iss` (RFC 9207) and
 * `ipc-service` are those of [server], the authorization server this login was started with
 * ([IssuerException], [IpcServiceException]); the `ipc-service` is one of [providers]
 * ([IpcServiceException]), whose signing certificate the Binder client checks before binding
 * ([io.github.httpipc.client.ProviderIdentityException]). A service named by the parameter is
 * never bound unless it is one of [providers].
 *
 * @property server the authorization server logins are bound to.
 * @property providers the providers this app trusts, by `ipc-service` value.
 * @property network the client for the network, and the base of the IPC clients (its
 *   interceptors and timeouts apply to both).
 */
class IpcAuthorization @JvmOverloads constructor(
  context: Context,
  val server: AuthorizationServer,
  val providers: List<TrustedProvider>,
  val network: OkHttpClient = OkHttpClient(),
) {
  private val context: Context = context.applicationContext ?: context

  /**
   * Checks [redirect], the answer to [request], and redeems its code; blocks, so never call it on
   * the main thread. [redirect] is either the redirect itself (`ACTION_VIEW` with the redirect URI
   * as data, as the app's redirect activity receives it) or the completion intent of AppAuth's
   * `AuthorizationService` (`AuthorizationResponse.fromIntent`).
   *
   * Throws [StateException], [IssuerException], [IpcServiceException], [OAuthErrorException]
   * (an error redirect or an error from the token endpoint), or an [java.io.IOException] of the
   * IPC or network call (for IPC: [io.github.httpipc.client.ProviderIdentityException] when the
   * provider is not signed as [TrustedProvider.options] says). [IllegalArgumentException] when
   * [request] lacks a state or PKCE `S256`, or [redirect] is neither form.
   */
  fun finish(request: AuthorizationRequest, redirect: Intent): IpcAuthSession {
    val wantState = requireNotNull(request.state) { "httpipc auth: the authorization request has no state" }
    require(request.codeVerifier != null && request.codeVerifierChallengeMethod == "S256") {
      "httpipc auth: the authorization request does not use PKCE S256"
    }
    val response = parse(request, redirect, wantState)
    val params = response.additionalParameters
    val svc = params[PARAM_IPC_SERVICE]
    server.check(svc, params[PARAM_ISSUER], params.containsKey(PARAM_ISSUER))
    val tokenRequest = response.createTokenExchangeRequest()
    if (svc == null) return IpcAuthSession.redeem(tokenRequest, network, network, null, null)
    val provider = providers.firstOrNull { it.ipcService == svc }
      ?: throw IpcServiceException("\"$svc\" is not a provider this app trusts")
    val ipc = HttpIpcClient(context, provider.address, provider.options)
    return try {
      IpcAuthSession.redeem(tokenRequest, network, ipc.callFactory(network), svc, ipc)
    } catch (e: Throwable) {
      ipc.close()
      throw e
    }
  }

  /** The AppAuth response [redirect] carries, once its state is [wantState]; error redirects throw. */
  private fun parse(request: AuthorizationRequest, redirect: Intent, wantState: String): AuthorizationResponse {
    if (redirect.hasExtra(AuthorizationResponse.EXTRA_RESPONSE) || redirect.hasExtra(AuthorizationException.EXTRA_EXCEPTION)) {
      // AppAuth's completion intent: its activity compared the state with the request it was given.
      AuthorizationException.fromIntent(redirect)?.let { throw OAuthErrorException(it.error ?: "error", it.errorDescription) }
      val r = AuthorizationResponse.fromIntent(redirect) ?: throw IllegalArgumentException("httpipc auth: no AppAuth response in the intent")
      if (!sameState(r.state, wantState)) throw StateException()
      return r
    }
    val uri: Uri = redirect.data ?: throw IllegalArgumentException("httpipc auth: the intent carries no redirect URI")
    // The URI carries the code: no message quotes it.
    if (!sameState(uri.getQueryParameter("state"), wantState)) throw StateException()
    uri.getQueryParameter(AuthorizationException.PARAM_ERROR)?.let { error ->
      val iss = uri.getQueryParameter(PARAM_ISSUER)
      if (iss != null && server.issuer != null && iss != server.issuer) throw IssuerException("iss \"$iss\", want \"${server.issuer}\"")
      throw OAuthErrorException(error, uri.getQueryParameter(AuthorizationException.PARAM_ERROR_DESCRIPTION))
    }
    if (uri.getQueryParameter("code").isNullOrEmpty()) throw IpcAuthException("httpipc auth: the redirect carries no code")
    return AuthorizationResponse.Builder(request).fromUri(uri).build()
  }

  private fun sameState(got: String?, want: String) =
    got != null && MessageDigest.isEqual(got.toByteArray(), want.toByteArray())

  /** The parameters httpipc adds to an authorization response. */
  companion object {
    /** Where the authorization server answers over IPC (docs/OAUTH.md, section 2). */
    const val PARAM_IPC_SERVICE = "ipc-service"

    /** The issuer of the response (RFC 9207). */
    const val PARAM_ISSUER = "iss"
  }
}
