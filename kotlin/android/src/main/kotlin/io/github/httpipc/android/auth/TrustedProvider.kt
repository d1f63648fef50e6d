package io.github.httpipc.android.auth

import io.github.httpipc.android.AndroidServiceAddress
import io.github.httpipc.android.HttpIpcClientOptions

/**
 * A provider this app trusts to answer an `ipc-service` value (docs/OAUTH.md, section 2, rules 3
 * and 4): the value as the authorization server names it, the bound service that answers it, and
 * the provider's signing certificates, which [io.github.httpipc.android.HttpIpcClient] checks
 * before it binds. The value is only ever looked up here, never turned into an address itself.
 * The app declares the provider's package in its manifest's `<queries>`.
 *
 * @property ipcService the `ipc-service` value, such as `org.example.lms`.
 * @property address the provider's bound service.
 * @property options the Binder client's settings, naming the provider's signing certificates.
 */
class TrustedProvider(
  val ipcService: String,
  val address: AndroidServiceAddress,
  val options: HttpIpcClientOptions,
) {
  /** A provider signed with one of [certificateSha256] (hex SHA-256 digests of signing certificates). */
  constructor(ipcService: String, address: AndroidServiceAddress, vararg certificateSha256: String) :
    this(ipcService, address, HttpIpcClientOptions(certificateSha256.toSet()))

  override fun toString() = "TrustedProvider($ipcService -> $address)"
}
