package io.github.httpipc.client

import io.github.httpipc.Policies
import io.github.httpipc.Policy
import java.time.Duration

/**
 * The settings of an [HttpipcCallFactory]; immutable, made with [Builder]. Timeouts and
 * interceptors come from the `OkHttpClient` the factory is built on.
 */
class HttpipcClientOptions private constructor(b: Builder) {
  /** The check of the provider on every new connection; default [Policies.sameUserOrRoot]. */
  val providerPolicy: Policy = b.providerPolicy ?: Policies.sameUserOrRoot()

  /** Idle connections kept for reuse; 16. Zero disables reuse. */
  val maxIdleConnections: Int = b.maxIdleConnections

  /** How long an idle connection is kept; 90 seconds, less than a provider's idle wait. */
  val idleConnectionTimeout: Duration = b.idleConnectionTimeout

  /** Bounds each field section of a response; 64 KiB. */
  val maxResponseHeaderBytes: Int = b.maxResponseHeaderBytes

  /** A builder with these settings. */
  fun newBuilder(): Builder = Builder(this)

  /** Builds [HttpipcClientOptions]. */
  class Builder() {
    internal var providerPolicy: Policy? = null
    internal var maxIdleConnections = 16
    internal var idleConnectionTimeout: Duration = Duration.ofSeconds(90)
    internal var maxResponseHeaderBytes = 64 * 1024

    internal constructor(o: HttpipcClientOptions) : this() {
      providerPolicy = o.providerPolicy
      maxIdleConnections = o.maxIdleConnections
      idleConnectionTimeout = o.idleConnectionTimeout
      maxResponseHeaderBytes = o.maxResponseHeaderBytes
    }

    /** Sets [HttpipcClientOptions.providerPolicy]. */
    fun providerPolicy(policy: Policy) = apply { providerPolicy = policy }

    /** Sets [HttpipcClientOptions.maxIdleConnections]. */
    fun maxIdleConnections(n: Int) = apply { maxIdleConnections = maxOf(0, n) }

    /** Sets [HttpipcClientOptions.idleConnectionTimeout]. */
    fun idleConnectionTimeout(d: Duration) = apply { idleConnectionTimeout = d }

    /** Sets [HttpipcClientOptions.maxResponseHeaderBytes]. */
    fun maxResponseHeaderBytes(n: Int) = apply {
      require(n > 0) { "maxResponseHeaderBytes $n" }
      maxResponseHeaderBytes = n
    }

    /** The options. */
    fun build() = HttpipcClientOptions(this)
  }

  /** The default options. */
  companion object {
    /** Options with every default. */
    @JvmStatic
    fun defaults(): HttpipcClientOptions = Builder().build()
  }
}
