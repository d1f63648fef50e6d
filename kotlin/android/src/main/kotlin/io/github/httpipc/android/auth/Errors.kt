package io.github.httpipc.android.auth

import java.io.IOException

/**
 * Why an offline login failed (docs/OAUTH.md, section 2). The subclasses are the Go client's
 * errors (`oauth/authclient`). Messages never quote a code or a token.
 */
open class IpcAuthException(message: String) : IOException(message)

/** The redirect's `state` is not the pending request's: it does not answer this login (Go: `ErrState`). */
class StateException : IpcAuthException("httpipc auth: the redirect's state does not match this login")

/**
 * The redirect names an `ipc-service` that is not the one of the authorization server this login
 * is bound to, or not a provider this app trusts (Go: `ErrIPCService`).
 */
class IpcServiceException(message: String) : IpcAuthException("httpipc auth: untrusted ipc-service: $message")

/**
 * The redirect's `iss` (RFC 9207) names another authorization server than this login's, or is
 * missing where the server says it sends it (Go: `ErrIssuer`).
 */
class IssuerException(message: String) : IpcAuthException("httpipc auth: the redirect comes from another authorization server: $message")

/**
 * An OAuth error answer: the authorization server's error redirect (RFC 6749, section 4.1.2.1,
 * such as `access_denied`) or its token endpoint's error (section 5.2, such as `invalid_grant`).
 */
class OAuthErrorException(
  /** The error code, such as `access_denied`. */
  val code: String,
  /** The server's `error_description`, or null. */
  val description: String?,
) : IpcAuthException("httpipc auth: $code" + (description?.let { ": $it" } ?: ""))
