package io.github.httpipc.android

import android.os.IBinder

/**
 * The Binder binding of httpipc (docs/PROTOCOL.md, "Platform bindings", "Android Binder"): the
 * interface descriptors and transaction codes, the same as the AIDL interfaces
 *
 * ```
 * interface IHttpIpc {                          // io.github.httpipc.IHttpIpc
 *   byte[] call(in byte[] request);             // CALL
 *   ParcelFileDescriptor connect();             // CONNECT
 *   IBinder openLink(IBinder callback);         // OPEN_LINK
 * }
 * oneway interface IHttpIpcLink {               // io.github.httpipc.IHttpIpcLink
 *   void frame(in byte[] frame);                // FRAME
 *   void close();                               // CLOSE
 * }
 * ```
 */
object HttpIpcBinder {
  /** The interface descriptor of a provider's binder. */
  const val DESCRIPTOR: String = "io.github.httpipc.IHttpIpc"

  /** The interface descriptor of each end of a link (streams over oneway transactions). */
  const val LINK_DESCRIPTOR: String = "io.github.httpipc.IHttpIpcLink"

  /** Message mode: one request message in, its response message out. */
  const val CALL: Int = IBinder.FIRST_CALL_TRANSACTION

  /** Descriptor handoff: answers one end of a new socketpair on which the provider serves the stream protocol. */
  const val CONNECT: Int = IBinder.FIRST_CALL_TRANSACTION + 1

  /** Opens a link: takes the client's link binder, answers the provider's. */
  const val OPEN_LINK: Int = IBinder.FIRST_CALL_TRANSACTION + 2

  /** On a link binder, oneway: one frame of protocol section 10. */
  const val FRAME: Int = IBinder.FIRST_CALL_TRANSACTION

  /** On a link binder, oneway: the sender closed the link. */
  const val CLOSE: Int = IBinder.FIRST_CALL_TRANSACTION + 1

  /**
   * The largest request or response message of [CALL], 128 KiB: Binder's transaction buffer is
   * about 1 MB per process, shared by all its transactions in flight.
   */
  const val MAX_MESSAGE_SIZE: Int = 128 * 1024

  /** The largest frame on a link: 16 KiB of stream bytes and the frame header. */
  const val MAX_FRAME_SIZE: Int = 16 * 1024 + 17
}
