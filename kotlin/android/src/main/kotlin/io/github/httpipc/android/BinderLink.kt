package io.github.httpipc.android

import android.os.Binder
import android.os.IBinder
import android.os.Parcel
import android.os.RemoteException
import io.github.httpipc.message.Link
import io.github.httpipc.message.Mux
import java.io.IOException

/**
 * The sending half of a link: each message is one oneway [HttpIpcBinder.FRAME] transaction to
 * the peer's link binder [remote]. Binder dispatches oneway transactions to one binder object
 * one at a time, in the order they were sent, so frames need no numbers of their own.
 */
internal class BinderLinkSender(private val remote: IBinder, private val onClose: () -> Unit) : Link {
  override val maxMessageSize: Int = HttpIpcBinder.MAX_FRAME_SIZE

  override fun send(message: ByteArray) = oneway(HttpIpcBinder.FRAME) { it.writeByteArray(message) }

  override fun close() {
    try {
      oneway(HttpIpcBinder.CLOSE) {}
    } catch (_: IOException) {
    }
    onClose()
  }

  private fun oneway(code: Int, write: (Parcel) -> Unit) {
    val data = Parcel.obtain()
    try {
      data.writeInterfaceToken(HttpIpcBinder.LINK_DESCRIPTOR)
      write(data)
      remote.transact(code, data, null, IBinder.FLAG_ONEWAY)
    } catch (e: RemoteException) {
      throw IOException("httpipc: link peer gone: $e", e)
    } finally {
      data.recycle()
    }
  }
}

/**
 * The receiving half of a link: the binder the peer sends its frames to; each frame goes to
 * [mux], a [HttpIpcBinder.CLOSE] ends it. [allowedUid], when not -1, is the only uid whose
 * transactions are taken.
 */
internal class BinderLinkReceiver(private val allowedUid: Int) : Binder() {
  @Volatile lateinit var mux: Mux

  init {
    attachInterface(null, HttpIpcBinder.LINK_DESCRIPTOR)
  }

  override fun onTransact(code: Int, data: Parcel, reply: Parcel?, flags: Int): Boolean {
    if (code != HttpIpcBinder.FRAME && code != HttpIpcBinder.CLOSE) return super.onTransact(code, data, reply, flags)
    data.enforceInterface(HttpIpcBinder.LINK_DESCRIPTOR)
    if (allowedUid != -1 && getCallingUid() != allowedUid) return true
    when (code) {
      HttpIpcBinder.FRAME -> data.createByteArray()?.let { mux.receive(it) }
      else -> mux.linkClosed(IOException("httpipc: the peer closed the link"))
    }
    return true
  }
}
