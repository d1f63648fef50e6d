// Client side: bind to the provider app's service (the system starts it on
// demand, BIND_AUTO_CREATE) and call its REST API through Go.
package org.example.mathapp

import android.content.ComponentName
import android.content.Context
import android.content.Intent
import android.content.ServiceConnection
import android.os.IBinder
import android.os.Parcel
import mobile.Caller
import mobile.Client
import mobile.Mobile

class LmsClient(private val context: Context, private val onReady: (Client) -> Unit) : ServiceConnection {
    fun bind(ipcService: String) {
        // ipcService comes from the OAuth redirect, e.g. "org.example.lms";
        // map it to the provider's component, never to arbitrary packages.
        val intent = Intent("org.httpipc.PROVIDER").setPackage(ipcService)
        context.bindService(intent, this, Context.BIND_AUTO_CREATE)
    }

    override fun onServiceConnected(name: ComponentName, binder: IBinder) {
        // Message mode, one request per Binder transaction (up to 256 KiB):
        val caller = object : Caller {
            override fun call(request: ByteArray): ByteArray {
                val data = Parcel.obtain()
                val reply = Parcel.obtain()
                try {
                    data.writeByteArray(request)
                    binder.transact(CALL, data, reply, 0)
                    return reply.createByteArray()!!
                } finally {
                    data.recycle(); reply.recycle()
                }
            }
        }
        onReady(Mobile.newMessageClient(caller, 256L * 1024))
        // For large bodies, ask for a socket instead (CONNECT) and use
        // Mobile.newFDClient(reply.readFileDescriptor().detachFd().toLong()).
        // Or, without descriptors, open a link (streams over messages):
        // Mobile.newLink(sender, 0) whose Sender makes a oneway FRAME
        // transaction (the callback binder, then the bytes); pass a Binder of
        // your own in OPEN_LINK whose onTransact hands each FRAME to
        // link.deliver(bytes); then Mobile.newLinkClient(link).
    }

    override fun onServiceDisconnected(name: ComponentName) {}

    companion object {
        const val CALL = IBinder.FIRST_CALL_TRANSACTION
    }
}
// A web view (an HTML5 lesson) gets a base URL instead; pages of the proxy's
// own origin may call the API, and so may the asset loader's origin:
//   val proxy = client.startProxy("https://appassets.androidplatform.net", true)
//   webView.loadUrl(proxy.url() + "/lessons/fractions/index.html")
//   ... proxy.close() in onDestroy
// Usage, off the main thread:
//   val r = client.`do`("GET", "http://lms/ims/oneroster/rostering/v1p2/users/u1/classes", "Authorization: Bearer $token", null)
//   r.status, r.headers, r.body
