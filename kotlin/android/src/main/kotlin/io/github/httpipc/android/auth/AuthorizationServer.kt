package io.github.httpipc.android.auth

import org.json.JSONObject

/**
 * The authorization server a login is bound to (docs/OAUTH.md, sections 2 and 3): what the app
 * knows about it before the redirect arrives, from its configuration or from the server's
 * metadata (`/.well-known/oauth-authorization-server`, RFC 8414). A redirect is accepted only
 * when its `iss` and `ipc-service` are this server's.
 *
 * @property issuer the issuer identifier; a redirect that carries `iss` must carry this one.
 *   Null: any `iss` is taken (as the Go client with no `Config.Issuer`).
 * @property ipcService the server's `ipc_service`; the only `ipc-service` a redirect may name.
 *   Null: the server has none, and a redirect that names one is refused.
 * @property issInResponse the metadata's `authorization_response_iss_parameter_supported`: a
 *   redirect without `iss` is refused.
 */
class AuthorizationServer @JvmOverloads constructor(
  val issuer: String?,
  val ipcService: String?,
  val issInResponse: Boolean = false,
) {
  /** Reading the server's metadata. */
  companion object {
    /** The binding the metadata document [metadata] (RFC 8414 JSON with httpipc's `ipc_service`) describes. */
    @JvmStatic
    fun fromMetadata(metadata: JSONObject): AuthorizationServer = AuthorizationServer(
      issuer = metadata.optString("issuer").ifEmpty { null },
      ipcService = metadata.optString("ipc_service").ifEmpty { null },
      issInResponse = metadata.optBoolean("authorization_response_iss_parameter_supported", false),
    )
  }

  /** Applies docs/OAUTH.md's rule 2 to a redirect's [ipcService] and [iss] ([hasIss]: the parameter is present). */
  internal fun check(ipcService: String?, iss: String?, hasIss: Boolean) {
    if (issInResponse && !hasIss) throw IssuerException("the server sends iss, and this redirect has none")
    if (hasIss && issuer != null && iss != issuer) throw IssuerException("iss \"$iss\", want \"$issuer\"")
    if (ipcService == null) return
    if (this.ipcService == null) throw IpcServiceException("\"$ipcService\": this login's authorization server names no ipc-service")
    if (ipcService != this.ipcService) throw IpcServiceException("\"$ipcService\" is not \"${this.ipcService}\", the ipc-service of this login's authorization server")
  }

  override fun toString() = "AuthorizationServer(issuer=$issuer, ipcService=$ipcService, issInResponse=$issInResponse)"
}
