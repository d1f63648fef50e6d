package io.github.httpipc.android

import android.app.Service
import android.content.Intent
import android.os.Binder
import android.os.IBinder
import android.os.Parcel
import android.os.ParcelFileDescriptor
import android.os.Parcelable
import android.system.ErrnoException
import android.system.Os
import android.system.OsConstants
import io.github.httpipc.HttpHandler
import io.github.httpipc.PeerCredentials
import io.github.httpipc.Policy
import io.github.httpipc.message.MessageServer
import io.github.httpipc.message.Mux
import io.github.httpipc.message.MuxOptions
import io.github.httpipc.server.IpcServer
import io.github.httpipc.server.IpcServerOptions
import java.io.Closeable
import java.io.FileDescriptor
import java.io.FileInputStream
import java.io.FileOutputStream
import java.io.IOException

/**
 * A bound service that serves an httpipc [HttpHandler] to other apps over Binder
 * (docs/PROTOCOL.md, "Android Binder"): in message mode ([HttpIpcBinder.CALL]), on a
 * descriptor it hands over ([HttpIpcBinder.CONNECT]), and over streams of oneway transactions
 * ([HttpIpcBinder.OPEN_LINK]).
 *
 * Subclass it, implement [createHandler], and declare the subclass in the manifest as an
 * exported `<service>`. Each transaction's caller is identified by the kernel
 * (`Binder.getCallingUid()`) and checked against [createCallerPolicy] (by default: signed with
 * the same certificate as this app); a refused caller gets `403 forbidden` in message mode, a
 * refusal preface on a descriptor, and a `SecurityException` from `OPEN_LINK`. Descriptor
 * connections and link streams count against [IpcServerOptions.maxConnectionsPerUser] of each
 * uid, links against [HttpIpcServiceOptions.maxLinksPerUid].
 *
 * A service that is only bound is destroyed by Android once its last client unbinds; [onDestroy]
 * then closes every connection and link.
 */
abstract class HttpIpcService : Service() {
  private lateinit var options: HttpIpcServiceOptions
  private lateinit var policy: Policy
  private lateinit var messages: MessageServer
  private lateinit var server: IpcServer
  private val lock = Any()
  private val links = HashMap<Int, MutableSet<Mux>>()
  private var destroyed = false
  private val binder = ProviderBinder()

  /** The handler that answers every request; called once, in [onCreate]. */
  protected abstract fun createHandler(): HttpHandler

  /** Who may call; by default [CallerPolicies.signedWith] this app's own signing certificates. */
  protected open fun createCallerPolicy(): CallerPolicy {
    val own = Signing.certificates(packageManager, packageName)
    return if (own.isEmpty()) CallerPolicy { "this app's signing certificate is unknown" } else CallerPolicies.signedWith(*own.toTypedArray())
  }

  /** Limits and the stream provider's settings; [HttpIpcServiceOptions.defaults] unless overridden. */
  protected open fun createOptions(): HttpIpcServiceOptions = HttpIpcServiceOptions.defaults()

  override fun onCreate() {
    super.onCreate()
    options = createOptions()
    val callers = createCallerPolicy()
    val pm = packageManager
    policy = Policy { p ->
      if (p == null || p.uid < 0) "caller unknown" else callers.check(Signing.caller(pm, p.uid, p.pid))
    }
    val handler = createHandler()
    messages = MessageServer(handler, policy, HttpIpcBinder.MAX_MESSAGE_SIZE)
    server = IpcServer(handler, options.server.newBuilder().policy(policy).build())
  }

  /** Answers the provider's binder, whatever the intent. */
  override fun onBind(intent: Intent?): IBinder = binder

  /** Closes every descriptor connection and link. */
  override fun onDestroy() {
    val all = synchronized(lock) {
      destroyed = true
      links.values.flatten().also { links.clear() }
    }
    for (m in all) m.close()
    server.close()
    super.onDestroy()
  }

  private inner class ProviderBinder : Binder() {
    init {
      attachInterface(null, HttpIpcBinder.DESCRIPTOR)
    }

    override fun onTransact(code: Int, data: Parcel, reply: Parcel?, flags: Int): Boolean {
      when (code) {
        HttpIpcBinder.CALL, HttpIpcBinder.CONNECT, HttpIpcBinder.OPEN_LINK -> {}
        else -> return super.onTransact(code, data, reply, flags)
      }
      data.enforceInterface(HttpIpcBinder.DESCRIPTOR)
      val peer = PeerCredentials(getCallingUid(), -1, getCallingPid())
      val out = reply ?: return true
      when (code) {
        HttpIpcBinder.CALL -> {
          val request = data.createByteArray() ?: ByteArray(0)
          val response = messages.serveMessage(request, peer)
          out.writeNoException()
          out.writeByteArray(response)
        }
        HttpIpcBinder.CONNECT -> {
          val pair = ParcelFileDescriptor.createSocketPair()
          serveDescriptor(pair[0], peer)
          out.writeNoException()
          out.writeInt(1)
          pair[1].writeToParcel(out, Parcelable.PARCELABLE_WRITE_RETURN_VALUE)
        }
        else -> {
          val callback = data.readStrongBinder()
          val refusal = if (callback == null) "no link binder" else policy.check(peer)
          if (refusal != null) {
            out.writeException(SecurityException("httpipc: forbidden: $refusal"))
            return true
          }
          val receiver = openLink(callback, peer)
          if (receiver == null) {
            out.writeException(IllegalStateException("httpipc: too many links of uid ${peer.uid}"))
            return true
          }
          out.writeNoException()
          out.writeStrongBinder(receiver)
        }
      }
      return true
    }
  }

  /** Serves the stream protocol on [pfd] (the provider's end of a socketpair) on a new thread. */
  private fun serveDescriptor(pfd: ParcelFileDescriptor, peer: PeerCredentials) {
    val fd = pfd.fileDescriptor
    val closer = Closeable { shutdown(fd); pfd.close() }
    Thread({
      server.serveConnection(FileInputStream(fd), FileOutputStream(fd), peer, closer) {
        try {
          Os.shutdown(fd, OsConstants.SHUT_RD)
        } catch (_: ErrnoException) {
        }
      }
    }, "httpipc-descriptor").apply { isDaemon = true }.start()
  }

  /** Opens a link to [callback] for [peer]; null when the uid has its most links open. */
  private fun openLink(callback: IBinder, peer: PeerCredentials): IBinder? {
    val receiver = BinderLinkReceiver(peer.uid)
    lateinit var mux: Mux
    val sender = BinderLinkSender(callback) { forget(peer.uid, mux) }
    mux = Mux(sender, client = false, MuxOptions(peer = peer))
    receiver.mux = mux
    synchronized(lock) {
      if (destroyed) return null
      val mine = links.getOrPut(peer.uid) { HashSet() }
      if (mine.size >= options.maxLinksPerUid) {
        mux.close()
        return null
      }
      mine.add(mux)
    }
    try {
      callback.linkToDeath({ mux.linkClosed(IOException("httpipc: the client died")); forget(peer.uid, mux) }, 0)
    } catch (_: android.os.RemoteException) {
      mux.close()
      return null
    }
    Thread({
      while (true) {
        val s = mux.accept() ?: break
        Thread({ server.serveConnection(s.input, s.output, peer, s) }, "httpipc-link-stream").apply { isDaemon = true }.start()
      }
      forget(peer.uid, mux)
    }, "httpipc-link").apply { isDaemon = true }.start()
    return receiver
  }

  private fun forget(uid: Int, mux: Mux) = synchronized(lock) {
    links[uid]?.let { it.remove(mux); if (it.isEmpty()) links.remove(uid) }
  }

  private fun shutdown(fd: FileDescriptor) {
    try {
      Os.shutdown(fd, OsConstants.SHUT_RDWR)
    } catch (_: ErrnoException) {
    }
  }
}

/**
 * The limits of an [HttpIpcService].
 *
 * @property server the stream provider's settings (deadlines, caps; its policy is replaced by
 *   the service's caller policy). Its [IpcServerOptions.maxConnectionsPerUser] caps the
 *   descriptor connections and link streams of each uid.
 * @property maxLinksPerUid the links one uid may have open at once; 8.
 */
class HttpIpcServiceOptions(
  val server: IpcServerOptions = IpcServerOptions.defaults(),
  val maxLinksPerUid: Int = 8,
) {
  /** The defaults. */
  companion object {
    /** Options with every default. */
    @JvmStatic
    fun defaults(): HttpIpcServiceOptions = HttpIpcServiceOptions()
  }
}
