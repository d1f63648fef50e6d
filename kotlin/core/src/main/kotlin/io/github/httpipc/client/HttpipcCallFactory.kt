package io.github.httpipc.client

import io.github.httpipc.transport.ChannelInputStream
import io.github.httpipc.transport.ChannelOutputStream
import io.github.httpipc.transport.UnixAddress
import io.github.httpipc.transport.UnixSockets
import java.io.Closeable
import java.io.IOException
import java.net.SocketException
import java.nio.ByteBuffer
import java.nio.channels.SocketChannel
import java.time.Duration
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicReference
import okhttp3.Call
import okhttp3.EventListener
import okhttp3.Interceptor
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.Response

/**
 * Sends an app's OkHttp and Retrofit calls to the httpipc provider at [address] (`unix:/path`),
 * or over the connections a [Dialer] opens (a Binder descriptor, a stream over messages), in the
 * binary stream protocol.
 *
 * ## Why this extension point
 *
 * The factory is built on an `OkHttpClient` the app already has ([client]) and returns one that
 * is the same client plus one last *application interceptor* that answers every call over IPC
 * without proceeding to the network. So every `Call` is OkHttp's own: the app's application
 * interceptors run, `Call.cancel()`, `callTimeout`, `enqueue` on the client's dispatcher, event
 * listeners and Retrofit adapters behave as usual, and the read and write timeouts of the client
 * apply to each read and write on the connection. Use [client] wherever an `OkHttpClient` is
 * wanted (`Retrofit.Builder().client(...)`), or this object as a `Call.Factory`. Network
 * interceptors, the cache, cookies and redirects do not run: they belong to HTTP/1.1 and HTTP/2
 * connections, which this client does not make. A custom `SocketFactory` that connects OkHttp to
 * the Unix socket would instead speak HTTP/1.1 to the provider (section 8 of the protocol),
 * without the binary protocol's identity check, refusals and error codes; it is not offered.
 *
 * ## Connections
 *
 * Each call takes an idle connection from a small pool ([HttpipcClientOptions.maxIdleConnections],
 * checked to be still open) or opens a new one, whose provider is checked against
 * [HttpipcClientOptions.providerPolicy] before anything is sent (default: same user or root).
 * A request that failed on a reused connection before any byte of the response arrived is sent
 * again on a new connection when it is idempotent or carries `idempotency-key` (protocol
 * section 7). A refusal is reported as [RefusedException], a protocol violation as
 * [IpcProtocolException], and a provider that stops mid-response as an `IOException` on the
 * body, never as a short body. Cancelling a call closes its connection, which cancels the
 * handler on the provider. Request bodies of unknown or large length are streamed in chunks
 * while the response is read; response bodies stream from the connection.
 *
 * Informational (1xx) responses are skipped; trailers are available from `Response.trailers()`
 * once the body has been read.
 */
class HttpipcCallFactory private constructor(
  /** The provider's address, `unix:/absolute/path`, or the [Dialer]'s `toString()`. */
  val address: String,
  private val dialer: Dialer?,
  /** Pool and identity settings. */
  val options: HttpipcClientOptions,
  client: OkHttpClient,
) : Call.Factory, Closeable {
  /** Calls the provider at [address], `unix:/absolute/path`, checking it with [HttpipcClientOptions.providerPolicy]. */
  @JvmOverloads
  constructor(
    address: String,
    options: HttpipcClientOptions = HttpipcClientOptions.defaults(),
    client: OkHttpClient = OkHttpClient(),
  ) : this(address, null, options, client)

  /**
   * Calls the provider over the connections [dialer] opens; the dialer checks the provider's
   * identity ([HttpipcClientOptions.providerPolicy] is for Unix sockets and is not consulted).
   */
  @JvmOverloads
  constructor(
    dialer: Dialer,
    options: HttpipcClientOptions = HttpipcClientOptions.defaults(),
    client: OkHttpClient = OkHttpClient(),
  ) : this(dialer.toString(), dialer, options, client)

  private val socket = if (dialer == null) UnixAddress.parse(address).path else null
  private val pool = ConnectionPool(options.maxIdleConnections, options.idleConnectionTimeout)

  /** The OkHttpClient whose calls go to the provider: the given client plus the IPC interceptor. */
  val client: OkHttpClient = client.newBuilder().addInterceptor(IpcInterceptor()).build()

  /** Prepares [request]; its URL's scheme and authority are sent, its path selects the API. */
  override fun newCall(request: Request): Call = client.newCall(request)

  /** Closes the idle connections kept for reuse. */
  override fun close() = pool.evictAll()

  /** Opens a new connection and checks the provider's identity. */
  private fun dial(): ClientConn {
    if (dialer != null) return ClientConn(dialer.dial(), options.maxResponseHeaderBytes, pool)
    val ch = try {
      UnixSockets.dial(socket!!)
    } catch (e: SocketException) {
      throw ProviderNotRunningException("nothing listens at $address: ${e.message}", e)
    }
    val creds = UnixSockets.peerCredentials(ch)
    val reason = options.providerPolicy.check(creds)
    if (reason != null) {
      ch.close()
      throw ProviderIdentityException("$address: $reason")
    }
    return ClientConn(SocketConnection(ch), options.maxResponseHeaderBytes, pool)
  }

  /** The last application interceptor: answers the call over IPC. */
  private inner class IpcInterceptor : Interceptor {
    override fun intercept(chain: Interceptor.Chain): Response {
      val call = chain.call()
      val req = chain.request()
      val current = AtomicReference<ClientConn?>()
      val canceled = AtomicBoolean(false)
      call.addEventListener(object : EventListener() {
        override fun canceled(call: Call) {
          canceled.set(true)
          current.get()?.close()
        }
      })
      val readTimeout = Duration.ofMillis(chain.readTimeoutMillis().toLong())
      val writeTimeout = Duration.ofMillis(chain.writeTimeoutMillis().toLong())
      var attempt = 0
      while (true) {
        if (call.isCanceled()) throw IOException("Canceled")
        val conn = pool.get() ?: dial()
        current.set(conn)
        if (call.isCanceled()) {
          conn.close()
          throw IOException("Canceled")
        }
        try {
          return conn.exchange(req, readTimeout, writeTimeout, canceled)
        } catch (e: RetryableException) {
          conn.close()
          if (attempt == 0 && conn.reused && !canceled.get() && (e.notSent || canRetry(req))) {
            attempt++
            continue
          }
          throw e.failure
        } catch (e: IOException) {
          conn.close()
          throw e
        }
      }
    }
  }

  private fun canRetry(req: Request): Boolean {
    val body = req.body
    if (body != null && (body.isOneShot() || body.isDuplex())) return false
    return when (req.method) {
      "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE" -> true
      else -> req.header("idempotency-key") != null || req.header("x-idempotency-key") != null
    }
  }
}

/** A Unix socket as a [StreamConnection]; [isOpen] peeks without blocking. */
private class SocketConnection(private val ch: SocketChannel) : StreamConnection {
  override val input = ChannelInputStream(ch)
  override val output = ChannelOutputStream(ch)

  override fun isOpen(): Boolean = try {
    ch.configureBlocking(false)
    val n = ch.read(ByteBuffer.allocate(1))
    ch.configureBlocking(true)
    n == 0
  } catch (_: IOException) {
    false
  }

  override fun close() = ch.close()
}
