package io.github.httpipc.client

import java.io.IOException

/** The provider refused the connection (protocol section 6); [reason] is what it said. */
class RefusedException(
  /** The provider's reason, or `(no reason given)`. */
  val reason: String,
) : IOException("httpipc: connection refused by provider: $reason")

/** The provider sent something that is not the httpipc protocol, or a malformed message. */
class IpcProtocolException(message: String, cause: Throwable? = null) : IOException("httpipc: protocol error: $message", cause)

/** The process serving the socket is not the provider the client expects (protocol section 5). */
class ProviderIdentityException(message: String) : IOException("httpipc: provider identity check failed: $message")

/** Nothing listens at the provider's address. */
class ProviderNotRunningException(message: String, cause: Throwable?) : IOException("httpipc: provider not running: $message", cause)
