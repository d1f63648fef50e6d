// Provider side: a bound Service that hands each Binder transaction to the
// Go provider. Go code in the app registered the API with
// registry.Register("org.example.lms", handler) before this runs.
package org.example.lms

import android.app.Service
import android.content.Intent
import android.os.Binder
import android.os.IBinder
import android.os.Parcel
import android.os.ParcelFileDescriptor
import mobile.Link
import mobile.Mobile
import mobile.Provider
import mobile.Sender
import java.util.concurrent.ConcurrentHashMap

class LmsProviderService : Service() {
    private lateinit var provider: Provider
    // Streams over messages: one Link per client callback binder.
    private val links = ConcurrentHashMap<IBinder, Link>()

    override fun onCreate() {
        provider = Mobile.newProvider("org.example.lms")
        // Client apps have their own uids: allow the ones you trust, e.g.
        // after checking their signing certificate with PackageManager.
        // provider.allowUID(mathAppUid.toLong())
    }

    override fun onBind(intent: Intent): IBinder = object : Binder() {
        override fun onTransact(code: Int, data: Parcel, reply: Parcel?, flags: Int): Boolean {
            val uid = getCallingUid().toLong()
            val pid = getCallingPid().toLong()
            when (code) {
                CALL -> {
                    // Message mode: one RFC 9292 request in, one response out.
                    val request = data.createByteArray() ?: return false
                    reply?.writeByteArray(provider.handleMessage(uid, pid, request))
                }
                CONNECT -> {
                    // Descriptor handoff: the stream protocol on a socketpair.
                    val pair = ParcelFileDescriptor.createSocketPair()
                    provider.serveFD(pair[0].detachFd().toLong(), uid, pid)
                    reply?.writeFileDescriptor(pair[1].fileDescriptor)
                    pair[1].close()
                }
                OPEN_LINK -> {
                    // Streams over messages (when descriptors are not an
                    // option): frames go back as oneway transactions to the
                    // client's callback binder; Binder keeps their order.
                    val callback = data.readStrongBinder() ?: return false
                    val link = Mobile.newLink(object : Sender {
                        override fun send(message: ByteArray) {
                            val p = Parcel.obtain()
                            try {
                                p.writeByteArray(message)
                                callback.transact(FRAME, p, null, FLAG_ONEWAY)
                            } finally {
                                p.recycle()
                            }
                        }
                    }, 0)
                    links[callback] = link
                    callback.linkToDeath({ links.remove(callback)?.close() }, 0)
                    provider.serveLink(link, uid, pid)
                }
                FRAME -> {
                    // A oneway transaction from a client: one frame of its link.
                    val callback = data.readStrongBinder() ?: return false
                    val frame = data.createByteArray() ?: return false
                    links[callback]?.deliver(frame)
                }
                else -> return super.onTransact(code, data, reply, flags)
            }
            return true
        }
    }

    override fun onDestroy() {
        provider.close()
    }

    companion object {
        const val CALL = IBinder.FIRST_CALL_TRANSACTION
        const val CONNECT = IBinder.FIRST_CALL_TRANSACTION + 1
        const val OPEN_LINK = IBinder.FIRST_CALL_TRANSACTION + 2
        const val FRAME = IBinder.FIRST_CALL_TRANSACTION + 3
    }
}
