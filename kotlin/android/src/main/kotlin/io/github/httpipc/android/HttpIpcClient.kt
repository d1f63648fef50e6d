package io.github.httpipc.android

import android.content.ComponentName
import android.content.Context
import android.content.Intent
import android.content.ServiceConnection
import android.content.pm.PackageManager
import android.os.DeadObjectException
import android.os.IBinder
import android.os.Parcel
import android.os.ParcelFileDescriptor
import android.os.RemoteException
import android.system.ErrnoException
import android.system.Os
import android.system.OsConstants
import io.github.httpipc.client.Dialer
import io.github.httpipc.client.HttpipcCallFactory
import io.github.httpipc.client.HttpipcClientOptions
import io.github.httpipc.client.ProviderIdentityException
import io.github.httpipc.client.ProviderNotRunningException
import io.github.httpipc.client.RefusedException
import io.github.httpipc.client.StreamConnection
import io.github.httpipc.message.MessageChannel
import io.github.httpipc.message.MessageTransport
import io.github.httpipc.message.Mux
import java.io.Closeable
import java.io.FileInputStream
import java.io.FileOutputStream
import java.io.IOException
import java.io.InputStream
import java.io.OutputStream
import java.time.Duration
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executor
import java.util.concurrent.TimeUnit
import okhttp3.OkHttpClient

/** The provider's process died while a call was using it; the next call binds again. */
class ProviderDiedException(message: String) : IOException("httpipc: provider died: $message")

/**
 * An `ipc-service` address of the Android form `android:PACKAGE/CLASS` (docs/PROTOCOL.md,
 * "Android Binder"): the exported service [className] of the app [packageName].
 */
class AndroidServiceAddress private constructor(
  /** The provider app's package name. */
  val packageName: String,
  /** The service's fully qualified class name. */
  val className: String,
) {
  /** The service's component. */
  val component: ComponentName get() = ComponentName(packageName, className)

  override fun toString(): String = "android:$packageName/$className"

  override fun equals(other: Any?): Boolean = other is AndroidServiceAddress && other.toString() == toString()

  override fun hashCode(): Int = toString().hashCode()

  /** Parsing. */
  companion object {
    private val NAME = Regex("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)+")
    private val CLASS = Regex("[A-Za-z_$][A-Za-z0-9_$]*(\\.[A-Za-z_$][A-Za-z0-9_$]*)+")

    /**
     * Parses `android:PACKAGE/CLASS`; a CLASS that starts with `.` is relative to PACKAGE.
     * Anything else is an [IllegalArgumentException] saying what was expected.
     */
    @JvmStatic
    fun parse(address: String): AndroidServiceAddress {
      fun fail(why: String): Nothing = throw IllegalArgumentException("httpipc: $why in address \"$address\"; want android:PACKAGE/CLASS")
      if (!address.startsWith("android:")) fail("no android: prefix")
      val rest = address.removePrefix("android:")
      val slash = rest.indexOf('/')
      if (slash < 0) fail("no /")
      val pkg = rest.substring(0, slash)
      var cls = rest.substring(slash + 1)
      if (cls.startsWith(".")) cls = pkg + cls
      if (pkg.length > 255 || !NAME.matches(pkg)) fail("invalid package name \"$pkg\"")
      if (!CLASS.matches(cls)) fail("invalid class name \"$cls\"")
      return AndroidServiceAddress(pkg, cls)
    }
  }
}

/** How an [HttpIpcClient]'s OkHttp calls reach the provider. */
enum class StreamPath {
  /** A socket the provider hands over ([HttpIpcBinder.CONNECT]); the default. */
  DESCRIPTOR,

  /** Streams over oneway transactions on one link per binding ([HttpIpcBinder.OPEN_LINK]). */
  LINK,
}

/**
 * The settings of an [HttpIpcClient].
 *
 * @property providerCertificates SHA-256 digests (hex) of the signing certificates the provider
 *   may have; one of its current signing certificates must be among them. Required.
 * @property bindTimeout how long a call waits for the provider to be bound; 10 seconds.
 * @property streamPath how OkHttp calls reach the provider; [StreamPath.DESCRIPTOR].
 * @property callbackExecutor runs the `ServiceConnection` callbacks; by default on the binding
 *   thread, so that a call may wait for them on any thread but the main one.
 */
class HttpIpcClientOptions @JvmOverloads constructor(
  providerCertificates: Set<String>,
  val bindTimeout: Duration = Duration.ofSeconds(10),
  val streamPath: StreamPath = StreamPath.DESCRIPTOR,
  val callbackExecutor: Executor = Executor { it.run() },
) {
  /** The accepted digests, normalized to lowercase hex. */
  val providerCertificates: Set<String> = providerCertificates.map(CallerPolicies::normalizeDigest).toSet()

  init {
    require(this.providerCertificates.isNotEmpty()) { "httpipc: name at least one provider signing certificate" }
  }
}

/**
 * A client of one httpipc provider service over Binder (docs/PROTOCOL.md, "Android Binder").
 *
 * The first call checks that the provider app at [address] has an exported service there and is
 * signed with one of [HttpIpcClientOptions.providerCertificates] ([ProviderIdentityException]
 * otherwise), then binds with `BIND_AUTO_CREATE` (the system starts the provider) and waits for
 * it at most [HttpIpcClientOptions.bindTimeout]. The binding is kept for later calls until
 * [close]. When the provider's process dies, every call using it fails at once with
 * [ProviderDiedException] and the next call binds again.
 *
 * Use [callFactory] for OkHttp and Retrofit, [messageTransport] for message mode. Never call on
 * the main thread: a call waits for Binder and for the provider.
 */
class HttpIpcClient(
  context: Context,
  /** The provider's service. */
  val address: AndroidServiceAddress,
  /** The settings. */
  val options: HttpIpcClientOptions,
) : Closeable {
  private val context = context.applicationContext ?: context
  private val lock = Any()
  private var binding: Binding? = null
  private var closed = false

  /** An OkHttp `Call.Factory` whose calls go to the provider, built on [client]. */
  @JvmOverloads
  fun callFactory(client: OkHttpClient = OkHttpClient()): HttpipcCallFactory =
    HttpipcCallFactory(BinderDialer(), HttpipcClientOptions.defaults(), client)

  /** Message mode: each request is one [HttpIpcBinder.CALL] transaction of at most 128 KiB. */
  fun messageTransport(): MessageTransport = MessageTransport(messageChannel(), HttpIpcBinder.MAX_MESSAGE_SIZE)

  /** The raw message channel: one request message in, one response message out. */
  fun messageChannel(): MessageChannel = MessageChannel { request ->
    val b = bound()
    b.transact(HttpIpcBinder.CALL, { it.writeByteArray(request) }) { it.createByteArray() ?: throw IOException("httpipc: empty reply") }
  }

  /** Unbinds; calls in flight fail. */
  override fun close() {
    val b = synchronized(lock) {
      closed = true
      binding.also { binding = null }
    }
    b?.end(IOException("httpipc: client closed"))
  }

  /** The current binding, binding first when there is none. */
  private fun bound(): Binding {
    val b = synchronized(lock) {
      if (closed) throw IOException("httpipc: client closed")
      binding?.takeIf { !it.ended }?.let { return it }
      Binding().also { binding = it }
    }
    b.connect()
    return b
  }

  /** Checks the provider app's identity before anything is sent to it. */
  private fun checkProvider() {
    val pm = context.packageManager
    val info = try {
      pm.getServiceInfo(address.component, 0)
    } catch (_: PackageManager.NameNotFoundException) {
      throw ProviderNotRunningException("$address: no such service is installed", null)
    }
    if (!info.exported) throw ProviderIdentityException("$address: the service is not exported")
    val certs = Signing.certificates(pm, address.packageName)
    if (certs.none { it in options.providerCertificates }) {
      throw ProviderIdentityException("$address: the app is not signed with an expected certificate (it has ${certs.ifEmpty { setOf("none") }.joinToString(" ")})")
    }
  }

  /** One binding to the provider, from bindService to the provider's death or [close]. */
  private inner class Binding : ServiceConnection, IBinder.DeathRecipient {
    private val connected = CountDownLatch(1)
    @Volatile private var remote: IBinder? = null
    @Volatile var ended = false
    @Volatile private var cause: IOException? = null
    private val open = HashSet<Closeable>()
    private var link: Mux? = null
    private var bindFailure: IOException? = null

    fun connect() {
      synchronized(this) {
        if (remote != null || ended) return@synchronized
        if (bindFailure != null) throw bindFailure!!
      }
      if (remote != null) return
      failIfEnded()
      checkProvider()
      val intent = Intent().setComponent(address.component)
      val ok = try {
        context.bindService(intent, Context.BIND_AUTO_CREATE, options.callbackExecutor, this)
      } catch (e: SecurityException) {
        end(ProviderIdentityException("$address: binding refused: ${e.message}"))
        throw cause!!
      }
      if (!ok) {
        end(ProviderNotRunningException("$address: the system would not bind the service", null))
        throw cause!!
      }
      if (!connected.await(options.bindTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
        end(ProviderNotRunningException("$address: not bound within ${options.bindTimeout}", null))
        throw cause!!
      }
      failIfEnded()
    }

    private fun failIfEnded() {
      cause?.let { throw it }
    }

    override fun onServiceConnected(name: ComponentName?, service: IBinder?) {
      if (service == null) return onNullBinding(name)
      try {
        service.linkToDeath(this, 0)
      } catch (_: RemoteException) {
        binderDied()
        return
      }
      remote = service
      connected.countDown()
    }

    override fun onServiceDisconnected(name: ComponentName?) = binderDied()

    override fun onBindingDied(name: ComponentName?) = binderDied()

    override fun onNullBinding(name: ComponentName?) {
      end(ProviderNotRunningException("$address: the service returned no binder", null))
    }

    override fun binderDied() {
      end(ProviderDiedException("$address"))
    }

    /** Ends this binding: fails every call on it with [why], closes its connections, unbinds. */
    fun end(why: IOException) {
      val toClose = synchronized(this) {
        if (ended) return
        ended = true
        cause = why
        open.toList().also { open.clear() } + listOfNotNull(link)
      }
      connected.countDown()
      synchronized(lock) { if (binding === this) binding = null }
      for (c in toClose) {
        try {
          c.close()
        } catch (_: IOException) {
        }
      }
      try {
        remote?.unlinkToDeath(this, 0)
      } catch (_: RuntimeException) {
      }
      try {
        context.unbindService(this)
      } catch (_: IllegalArgumentException) {
      }
    }

    /** Performs a two-way transaction on the provider's binder. */
    fun <T> transact(code: Int, write: (Parcel) -> Unit, read: (Parcel) -> T): T {
      val r = remote ?: throw cause ?: IOException("httpipc: not bound")
      val data = Parcel.obtain()
      val reply = Parcel.obtain()
      try {
        data.writeInterfaceToken(HttpIpcBinder.DESCRIPTOR)
        write(data)
        r.transact(code, data, reply, 0)
        reply.readException()
        return read(reply)
      } catch (e: DeadObjectException) {
        binderDied()
        throw ProviderDiedException("$address: $e")
      } catch (e: SecurityException) {
        throw RefusedException(e.message ?: "forbidden")
      } catch (e: RemoteException) {
        throw IOException("httpipc: transaction failed: $e", e)
      } finally {
        data.recycle()
        reply.recycle()
      }
    }

    /** Registers [c] to be closed if the binding ends; fails if it already has. */
    fun track(c: Closeable) {
      val dead = synchronized(this) { if (ended) true else { open.add(c); false } }
      if (dead) {
        c.close()
        failIfEnded()
      }
    }

    fun untrack(c: Closeable) = synchronized(this) { open.remove(c) }

    /** Why the binding ended (a [ProviderDiedException] when the provider died), or null while it lasts. */
    fun failure(): IOException? {
      if (ended) return cause
      // A socket can report the provider's end before the death notice arrives: ask Binder.
      val r = remote ?: return null
      if (!r.pingBinder()) binderDied()
      return if (ended) cause else null
    }

    /** The link of this binding, opened on first use. */
    fun link(): Mux {
      synchronized(this) { link?.let { return it } }
      val receiver = BinderLinkReceiver(-1)
      val remoteLink = transact(HttpIpcBinder.OPEN_LINK, { it.writeStrongBinder(receiver) }) {
        it.readStrongBinder() ?: throw IOException("httpipc: the provider answered no link")
      }
      val mux = Mux(BinderLinkSender(remoteLink) {}, client = true)
      receiver.mux = mux
      val existing = synchronized(this) {
        if (ended) null else link ?: mux.also { link = it }
      }
      if (existing == null) {
        mux.close()
        failIfEnded()
        throw IOException("httpipc: binding ended")
      }
      if (existing !== mux) mux.close()
      return existing
    }
  }

  /** Opens a connection on the current binding: a handed-over socket or a stream of the link. */
  private inner class BinderDialer : Dialer {
    override fun dial(): StreamConnection {
      val b = bound()
      val conn = when (options.streamPath) {
        StreamPath.DESCRIPTOR -> {
          val pfd = b.transact(HttpIpcBinder.CONNECT, {}) {
            if (it.readInt() == 0) throw IOException("httpipc: the provider answered no descriptor")
            ParcelFileDescriptor.CREATOR.createFromParcel(it)
          }
          DescriptorConnection(b, pfd)
        }
        StreamPath.LINK -> {
          val s = b.link().open()
          BoundConnection(b, s.input, s.output, s)
        }
      }
      b.track(conn)
      return conn
    }

    override fun toString() = address.toString()
  }

  /** A connection of a binding: reports [ProviderDiedException] once the provider died. */
  private open inner class BoundConnection(
    private val b: Binding,
    override val input: InputStream,
    override val output: OutputStream,
    private val closer: Closeable,
  ) : StreamConnection {
    override val closedBecause: IOException? get() = b.failure()

    override fun close() {
      b.untrack(this)
      closer.close()
    }
  }

  /** A handed-over socket; closing shuts it down first, which wakes blocked reads and writes. */
  private inner class DescriptorConnection(b: Binding, pfd: ParcelFileDescriptor) :
    BoundConnection(b, FileInputStream(pfd.fileDescriptor), FileOutputStream(pfd.fileDescriptor), Closeable {
      try {
        Os.shutdown(pfd.fileDescriptor, OsConstants.SHUT_RDWR)
      } catch (_: ErrnoException) {
      }
      pfd.close()
    })
}
