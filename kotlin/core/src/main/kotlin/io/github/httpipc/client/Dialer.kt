package io.github.httpipc.client

import java.io.Closeable
import java.io.IOException
import java.io.InputStream
import java.io.OutputStream

/**
 * One byte-stream connection to a provider, on which the client speaks the stream protocol
 * (protocol sections 6 and 7): a Unix socket, a descriptor a provider handed over, a stream of a
 * multiplexer.
 *
 * [close] may be called from any thread while another thread is blocked reading [input] or
 * writing [output], and must make those calls fail promptly: that is how cancellation and
 * timeouts reach the connection.
 */
interface StreamConnection : Closeable {
  /** The bytes the provider sends. */
  val input: InputStream

  /** The bytes sent to the provider. */
  val output: OutputStream

  /**
   * Whether this idle connection may still be used: false when it is known that the provider
   * closed it. It must not block; the default, true, is for connections that cannot tell (a
   * request that fails on a reused connection before any response byte is sent again on a new
   * one when it is safe to).
   */
  fun isOpen(): Boolean = true

  /**
   * Why the connection was closed from outside, when it was (for example the provider's process
   * died), or null: a call that fails on the connection reports this error in place of the
   * read or write error it saw.
   */
  val closedBecause: IOException? get() = null
}

/**
 * Opens connections to one provider for an [HttpipcCallFactory]. The dialer checks the
 * provider's identity before it returns a connection (protocol section 5): nothing is sent on
 * a connection before [dial] returns.
 */
fun interface Dialer {
  /**
   * Opens a new connection; throws [IOException] when the provider cannot be reached or is not
   * the one expected ([ProviderIdentityException]).
   */
  fun dial(): StreamConnection
}
