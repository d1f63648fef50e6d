package io.github.httpipc.server

import io.github.httpipc.HttpHandler
import io.github.httpipc.PeerCredentials
import io.github.httpipc.Policies
import io.github.httpipc.ServerRequest
import io.github.httpipc.stream.Wire
import io.github.httpipc.stream.closeQuietly
import io.github.httpipc.transport.ChannelInputStream
import io.github.httpipc.transport.ChannelOutputStream
import io.github.httpipc.transport.UnixListener
import io.github.httpipc.transport.UnixSockets
import java.io.Closeable
import java.io.IOException
import java.io.InputStream
import java.io.OutputStream
import java.nio.channels.SocketChannel
import java.time.Duration
import java.util.logging.Level
import java.util.logging.Logger

/**
 * The provider side of the stream protocol (protocol sections 3 to 7): serves [handler] to the
 * peers its [options] admit, on Unix sockets ([serve]) or on any byte stream
 * ([serveConnection]).
 *
 * Each connection is served on its own thread: its policy is checked at accept, before anything
 * is read, then the prefaces are exchanged and its requests are answered one after another.
 * Request bodies stream to the handler and responses stream from it in chunks of at most
 * 32 KiB. A handler learns that its client went away when reading the body or writing the
 * response fails, or from [isCancelled].
 *
 * Logs go to the `java.util.logging` logger `io.github.httpipc`.
 */
class IpcServer(
  private val handler: HttpHandler,
  /** The settings; see [IpcServerOptions]. */
  val options: IpcServerOptions = IpcServerOptions.defaults(),
) : Closeable {
  /** Why [serve] returned. */
  enum class StopReason {
    /** [close] or [shutdown] was called. */
    CLOSED,

    /** The server had no request for [IpcServerOptions.idleTimeout]. */
    IDLE,
  }

  internal val log: Logger = Logger.getLogger("io.github.httpipc")
  private val lock = Object()
  private val conns = HashMap<ServerConn, Unit>()
  private val perUser = HashMap<Int, Int>()
  private val listeners = HashSet<UnixListener>()
  private var active = 0
  private var lastActivity = System.nanoTime()
  private var stopped = false

  /**
   * Accepts connections on [listener] and serves them until [close] or [shutdown], or until the
   * server was idle for [IpcServerOptions.idleTimeout]. The idle exit is graceful: the socket file
   * is removed first, connections already queued are still served, idle connections are closed
   * and this returns once the last request has finished. [listener] is closed on return.
   */
  fun serve(listener: UnixListener): StopReason {
    synchronized(lock) {
      if (stopped) {
        listener.close()
        return StopReason.CLOSED
      }
      listeners.add(listener)
      lastActivity = System.nanoTime()
    }
    val acceptor = Thread({ acceptLoop(listener) }, "httpipc-accept ${listener.path}")
    acceptor.isDaemon = true
    acceptor.start()
    try {
      val idle = options.idleTimeout
      synchronized(lock) {
        while (true) {
          if (stopped || !acceptor.isAlive) return StopReason.CLOSED
          if (idle.isZero || idle.isNegative || active > 0) {
            lock.wait(1000)
            continue
          }
          val left = idle.toNanos() - (System.nanoTime() - lastActivity)
          if (left <= 0) break
          lock.wait(left / 1_000_000 + 1)
        }
      }
      log.info("httpipc: idle, exiting after $idle")
      // New clients find no socket file; those already queued are accepted in the window.
      listener.unlink()
      Thread.sleep(25)
      listener.close()
      waitConnections(null)
      return StopReason.IDLE
    } finally {
      synchronized(lock) { listeners.remove(listener) }
      listener.close()
    }
  }

  internal fun handlerOf(): HttpHandler = handler

  private fun acceptLoop(listener: UnixListener) {
    while (true) {
      val ch: SocketChannel = try {
        listener.accept()
      } catch (e: IOException) {
        synchronized(lock) { lock.notifyAll() }
        return
      }
      val peer = UnixSockets.peerCredentials(ch)
      val output = ChannelOutputStream(ch)
      val conn = ServerConn(this, ChannelInputStream(ch), output, peer, ch) {
        try {
          ch.shutdownInput()
        } catch (_: IOException) {
          ch.closeQuietly()
        }
      }
      // Counted here, in accept order, so that the caps see every
      // connection accepted before this one.
      if (!admit(conn, output, ch)) continue
      val t = Thread({ serveAdmitted(conn, ch) }, "httpipc-conn")
      t.isDaemon = true
      t.start()
    }
  }

  /**
   * Serves the stream protocol on one connection given as [input] and [output] (a socket, a
   * Binder descriptor, a stream of a multiplexer), whose peer is [peer] (null when unknown), on
   * the calling thread, and returns when the connection is done. [closer] closes the connection;
   * it is called before this returns, and by deadlines. [shutdownInput], when given, ends the
   * input alone (so that a refusal can still be written after a deadline).
   */
  @JvmOverloads
  fun serveConnection(
    input: InputStream,
    output: OutputStream,
    peer: PeerCredentials?,
    closer: Closeable,
    shutdownInput: (() -> Unit)? = null,
  ) {
    val conn = ServerConn(this, input, output, peer, closer, shutdownInput)
    if (admit(conn, output, closer)) serveAdmitted(conn, closer)
  }

  /** Counts [conn] against the caps; refuses and closes it when over one. */
  private fun admit(conn: ServerConn, output: OutputStream, closer: Closeable): Boolean {
    when (track(conn)) {
      Track.CLOSED -> {
        closer.closeQuietly()
        return false
      }
      Track.OVER_CAP -> {
        log.warning("httpipc: connection refused: peer ${Policies.describe(conn.peer)}: ${Wire.TOO_MANY_CONNECTIONS}")
        try {
          conn.deadline.within(Duration.ofSeconds(1)) { output.write(Wire.refusal(Wire.TOO_MANY_CONNECTIONS)); output.flush() }
        } catch (_: IOException) {
        }
        closer.closeQuietly()
        return false
      }
      Track.OK -> return true
    }
  }

  private fun serveAdmitted(conn: ServerConn, closer: Closeable) {
    try {
      conn.run()
    } catch (e: Throwable) {
      log.log(Level.WARNING, "httpipc: connection failed", e)
    } finally {
      closer.closeQuietly()
      untrack(conn)
    }
  }

  private enum class Track { OK, CLOSED, OVER_CAP }

  private fun track(c: ServerConn): Track = synchronized(lock) {
    if (stopped) return Track.CLOSED
    val user = c.peer?.uid ?: -1
    if (options.maxConnections > 0 && conns.size >= options.maxConnections) return Track.OVER_CAP
    if (options.maxConnectionsPerUser > 0 && (perUser[user] ?: 0) >= options.maxConnectionsPerUser) return Track.OVER_CAP
    conns[c] = Unit
    perUser[user] = (perUser[user] ?: 0) + 1
    lastActivity = System.nanoTime()
    lock.notifyAll()
    Track.OK
  }

  private fun untrack(c: ServerConn) = synchronized(lock) {
    if (conns.remove(c) == null) return
    val user = c.peer?.uid ?: -1
    val n = (perUser[user] ?: 1) - 1
    if (n <= 0) perUser.remove(user) else perUser[user] = n
    if (c.busy) active--
    c.busy = false
    lastActivity = System.nanoTime()
    lock.notifyAll()
  }

  /** Records whether [c] is inside a request; an idle connection may be closed by a shutdown. */
  internal fun setBusy(c: ServerConn, busy: Boolean) = synchronized(lock) {
    if (c.busy == busy || c !in conns) return
    c.busy = busy
    c.everBusy = c.everBusy || busy
    if (busy) active++ else active--
    lastActivity = System.nanoTime()
    lock.notifyAll()
    if (!busy && stopped) c.closeQuietly()
  }

  /**
   * Stops accepting connections, closes idle ones, and waits up to [timeout] for requests in
   * flight to finish (null: as long as they take); returns whether they all finished.
   */
  fun shutdown(timeout: Duration? = null): Boolean {
    stopListeners()
    return waitConnections(timeout)
  }

  /** Closes every listener and connection at once. */
  override fun close() {
    stopListeners()
    val all = synchronized(lock) { conns.keys.toList() }
    for (c in all) c.closeQuietly()
  }

  private fun stopListeners() {
    val ls = synchronized(lock) {
      stopped = true
      lock.notifyAll()
      listeners.toList()
    }
    for (l in ls) l.close()
  }

  private fun waitConnections(timeout: Duration?): Boolean {
    val end = timeout?.let { System.nanoTime() + it.toNanos() }
    synchronized(lock) {
      while (true) {
        for (c in conns.keys) if (!c.busy && c.everBusy) c.closeQuietly()
        if (conns.isEmpty()) return true
        val left = if (end == null) 1000L else (end - System.nanoTime()) / 1_000_000
        if (left <= 0) return false
        lock.wait(minOf(left, 1000L))
      }
    }
  }
}

/**
 * Whether the client that sent this request has gone away (protocol section 7: the provider
 * notices the client closing once the request has been received whole). It is meaningful for
 * requests an [IpcServer] serves and false for others. The first call starts watching the
 * connection.
 */
fun ServerRequest.isCancelled(): Boolean = (this as? StreamRequest)?.cancelled() ?: false
