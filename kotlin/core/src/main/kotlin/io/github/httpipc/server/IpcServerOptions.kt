package io.github.httpipc.server

import io.github.httpipc.Policies
import io.github.httpipc.Policy
import java.time.Duration

/**
 * The settings of an [IpcServer]. The defaults are those of protocol section 4; build others
 * with [Builder], or change some with [newBuilder]. Instances are immutable.
 */
class IpcServerOptions private constructor(b: Builder) {
  /** Which peers may connect; default [Policies.sameUser]. */
  val policy: Policy = b.policy ?: Policies.sameUser()

  /** Bounds a request's control data and header section, and each trailer section; 64 KiB. */
  val maxHeaderBytes: Int = b.maxHeaderBytes

  /** Bounds a request body when positive (413); default 0, no limit. */
  val maxRequestBodyBytes: Long = b.maxRequestBodyBytes

  /** How long a new connection may take to send its first byte and whole preface; 5 s. */
  val prefaceTimeout: Duration = b.prefaceTimeout

  /** How long a request may take from its first byte to the end of its header section; 10 s. */
  val readHeaderTimeout: Duration = b.readHeaderTimeout

  /** How long a connection may wait for its next request; 2 minutes. */
  val connectionIdleTimeout: Duration = b.connectionIdleTimeout

  /** Connections open at once; 1024. Zero or negative means no cap. */
  val maxConnections: Int = b.maxConnections

  /** Connections of one user (unknown identities count as one user); 256. */
  val maxConnectionsPerUser: Int = b.maxConnectionsPerUser

  /**
   * When positive, [IpcServer.serve] returns [IpcServer.StopReason.IDLE] once no request has been
   * in flight and no connection opened for this long; default zero, never.
   */
  val idleTimeout: Duration = b.idleTimeout

  /** A builder with these settings. */
  fun newBuilder(): Builder = Builder(this)

  /** Builds [IpcServerOptions]. */
  class Builder() {
    internal var policy: Policy? = null
    internal var maxHeaderBytes = 64 * 1024
    internal var maxRequestBodyBytes = 0L
    internal var prefaceTimeout: Duration = Duration.ofSeconds(5)
    internal var readHeaderTimeout: Duration = Duration.ofSeconds(10)
    internal var connectionIdleTimeout: Duration = Duration.ofMinutes(2)
    internal var maxConnections = 1024
    internal var maxConnectionsPerUser = 256
    internal var idleTimeout: Duration = Duration.ZERO

    internal constructor(o: IpcServerOptions) : this() {
      policy = o.policy
      maxHeaderBytes = o.maxHeaderBytes
      maxRequestBodyBytes = o.maxRequestBodyBytes
      prefaceTimeout = o.prefaceTimeout
      readHeaderTimeout = o.readHeaderTimeout
      connectionIdleTimeout = o.connectionIdleTimeout
      maxConnections = o.maxConnections
      maxConnectionsPerUser = o.maxConnectionsPerUser
      idleTimeout = o.idleTimeout
    }

    /** Sets [IpcServerOptions.policy]. */
    fun policy(policy: Policy) = apply { this.policy = policy }

    /** Sets [IpcServerOptions.maxHeaderBytes]. */
    fun maxHeaderBytes(bytes: Int) = apply {
      require(bytes > 0) { "maxHeaderBytes $bytes" }
      maxHeaderBytes = bytes
    }

    /** Sets [IpcServerOptions.maxRequestBodyBytes]. */
    fun maxRequestBodyBytes(bytes: Long) = apply { maxRequestBodyBytes = bytes }

    /** Sets [IpcServerOptions.prefaceTimeout]; zero means no limit. */
    fun prefaceTimeout(d: Duration) = apply { prefaceTimeout = d }

    /** Sets [IpcServerOptions.readHeaderTimeout]; zero means no limit. */
    fun readHeaderTimeout(d: Duration) = apply { readHeaderTimeout = d }

    /** Sets [IpcServerOptions.connectionIdleTimeout]; zero means no limit. */
    fun connectionIdleTimeout(d: Duration) = apply { connectionIdleTimeout = d }

    /** Sets [IpcServerOptions.maxConnections]. */
    fun maxConnections(n: Int) = apply { maxConnections = n }

    /** Sets [IpcServerOptions.maxConnectionsPerUser]. */
    fun maxConnectionsPerUser(n: Int) = apply { maxConnectionsPerUser = n }

    /** Sets [IpcServerOptions.idleTimeout]. */
    fun idleTimeout(d: Duration) = apply { idleTimeout = d }

    /** The options. */
    fun build() = IpcServerOptions(this)
  }

  /** The default options. */
  companion object {
    /** Options with every default of protocol section 4 and the [Policies.sameUser] policy. */
    @JvmStatic
    fun defaults(): IpcServerOptions = Builder().build()
  }
}
