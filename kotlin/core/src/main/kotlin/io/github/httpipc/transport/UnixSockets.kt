package io.github.httpipc.transport

import io.github.httpipc.PeerCredentials
import java.io.IOException
import java.net.StandardProtocolFamily
import java.net.UnixDomainSocketAddress
import java.nio.channels.SocketChannel
import java.nio.file.FileSystems
import java.nio.file.Files
import java.nio.file.LinkOption
import java.nio.file.Path
import java.nio.file.attribute.GroupPrincipal
import java.nio.file.attribute.PosixFilePermissions
import java.nio.file.attribute.UserPrincipal
import jdk.net.ExtendedSocketOptions
import jdk.net.UnixDomainPrincipal

/** Thrown when a socket file cannot be created because a provider is already listening on it. */
class AddressInUseException(message: String) : IOException(message)

/** Thrown when the directory of a socket file could let another user replace the socket. */
class UnsafePathException(message: String) : IOException(message)

/**
 * Unix domain sockets with peer credentials, for the stream protocol.
 *
 * The JVM reports a peer's identity (`SO_PEERCRED`) as a [UnixDomainPrincipal] of user and group
 * principals, which carry names, not numbers. [peerCredentials] recovers the numeric ids: a name
 * that is a number is used as is; otherwise the JDK's principal hashes to its id, and that
 * candidate is verified by looking up the numeric name with the file system's
 * `UserPrincipalLookupService` (which accepts numeric ids) and comparing with `equals` (which the
 * JDK's Unix principals implement by id). An id that cannot be verified is -1. The JVM cannot tell
 * the peer's process id, which is always -1.
 */
object UnixSockets {
  private const val S_IFMT = 0xF000
  private const val S_IFSOCK = 0xC000
  private const val S_IFDIR = 0x4000
  private const val S_ISVTX = 0x200

  /** Connects to the socket at [path]; the channel is blocking. */
  fun dial(path: Path): SocketChannel {
    val ch = SocketChannel.open(StandardProtocolFamily.UNIX)
    try {
      ch.connect(UnixDomainSocketAddress.of(path))
    } catch (e: Throwable) {
      ch.close()
      throw e
    }
    return ch
  }

  /**
   * Listens on a new socket file at [path], with mode 0600 in a directory that only this user
   * (or root) can write to, creating the directory with mode 0700 when missing.
   *
   * A socket file already at [path] is probed: if a process accepts on it, this fails with
   * [AddressInUseException]; otherwise the stale file is replaced. Anything else at [path] is left
   * alone and reported. The socket is never reachable with a wider mode: it is bound inside a new
   * private (0700) directory next to [path], given mode 0600 there, and then linked onto [path]
   * (which fails rather than replace a file that appeared meanwhile).
   */
  fun listen(path: Path): UnixListener {
    val abs = path.toAbsolutePath()
    val dir = abs.parent ?: throw IOException("$abs has no parent directory")
    checkSocketDir(dir)
    removeStale(abs)
    val tmp = Files.createTempDirectory(dir, ".s", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")))
    val tmpSock = tmp.resolve("s")
    try {
      val server = java.nio.channels.ServerSocketChannel.open(StandardProtocolFamily.UNIX)
      try {
        server.bind(UnixDomainSocketAddress.of(tmpSock), 4096)
        Files.setPosixFilePermissions(tmpSock, PosixFilePermissions.fromString("rw-------"))
        try {
          Files.createLink(abs, tmpSock)
        } catch (e: java.nio.file.FileAlreadyExistsException) {
          throw AddressInUseException("$abs: another provider created the socket meanwhile")
        }
        val key = Files.readAttributes(abs, java.nio.file.attribute.BasicFileAttributes::class.java, LinkOption.NOFOLLOW_LINKS).fileKey()
        return UnixListener(server, abs, key)
      } catch (e: Throwable) {
        server.close()
        throw e
      }
    } finally {
      Files.deleteIfExists(tmpSock)
      Files.deleteIfExists(tmp)
    }
  }

  /** Creates [dir] (mode 0700) when missing and refuses one that others could write to. */
  private fun checkSocketDir(dir: Path) {
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      Files.createDirectories(dir.parent)
      try {
        Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")))
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"))
      } catch (_: java.nio.file.FileAlreadyExistsException) {
      }
    }
    val attrs = Files.readAttributes(dir, "unix:mode,uid")
    val mode = attrs["mode"] as Int
    val uid = attrs["uid"] as Int
    val self = selfCredentials().uid
    when {
      mode and S_IFMT != S_IFDIR -> throw UnsafePathException("$dir is not a directory")
      uid != self && uid != 0 -> throw UnsafePathException("$dir is owned by uid $uid; use a directory only you can write to")
      mode and 0x12 != 0 && mode and S_ISVTX == 0 ->
        throw UnsafePathException("$dir is writable by others (mode 0${Integer.toOctalString(mode and 0x1ff)}); use a directory only you can write to")
    }
  }

  /** Removes the socket file at [path] when nobody accepts on it. */
  private fun removeStale(path: Path) {
    val mode = try {
      Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS) as Int
    } catch (_: java.nio.file.NoSuchFileException) {
      return
    }
    if (mode and S_IFMT != S_IFSOCK) throw IOException("$path exists and is not a socket; not touching it")
    val live = try {
      dial(path).close()
      true
    } catch (_: java.net.SocketException) {
      false // nobody accepts: stale
    }
    if (live) throw AddressInUseException("$path has a live provider")
    Files.deleteIfExists(path)
  }

  /** Returns the OS identity of the peer of [channel], or null when the platform does not tell it. */
  fun peerCredentials(channel: SocketChannel): PeerCredentials? {
    val p: UnixDomainPrincipal = try {
      channel.getOption(ExtendedSocketOptions.SO_PEERCRED)
    } catch (_: UnsupportedOperationException) {
      return null
    } catch (_: IOException) {
      return null
    } ?: return null
    return PeerCredentials(uid = numericId(p.user()), gid = numericId(p.group()), pid = -1)
  }

  /**
   * The numeric id of a principal the JDK reported (see the class documentation), or -1 when it
   * cannot be verified.
   */
  internal fun numericId(principal: UserPrincipal): Int {
    principal.name.toIntOrNull()?.let { if (it >= 0) return it }
    val candidate = principal.hashCode()
    if (candidate < 0) return -1
    val lookup = FileSystems.getDefault().userPrincipalLookupService
    return try {
      val found = if (principal is GroupPrincipal) {
        lookup.lookupPrincipalByGroupName(candidate.toString())
      } else {
        lookup.lookupPrincipalByName(candidate.toString())
      }
      if (found == principal && principal == found) candidate else -1
    } catch (_: Exception) {
      -1
    }
  }

  /** The user and group ids of this process (its pid too). */
  fun selfCredentials(): PeerCredentials {
    val pid = ProcessHandle.current().pid().toInt()
    try {
      val u = com.sun.security.auth.module.UnixSystem()
      return PeerCredentials(u.uid.toInt(), u.gid.toInt(), pid)
    } catch (_: Throwable) {
    }
    val f = Files.createTempFile("httpipc-id", "")
    try {
      return PeerCredentials(Files.getAttribute(f, "unix:uid") as Int, Files.getAttribute(f, "unix:gid") as Int, pid)
    } finally {
      Files.deleteIfExists(f)
    }
  }
}
