package io.github.httpipc.transport

import io.github.httpipc.Policies
import java.nio.ByteBuffer
import java.nio.file.Files
import java.nio.file.attribute.PosixFilePermissions
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import java.nio.file.Path

class UnixSocketsTest {
  @TempDir lateinit var dir: Path

  @Test
  fun listenDialAndPeerCredentials() {
    val sock = dir.resolve("sub/p.sock")
    UnixSockets.listen(sock).use { ln ->
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(sock)))
      assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(sock.parent)))
      UnixSockets.dial(sock).use { c ->
        ln.accept().use { s ->
          val self = UnixSockets.selfCredentials()
          val peer = UnixSockets.peerCredentials(s)!!
          assertEquals(self.uid, peer.uid)
          assertEquals(self.gid, peer.gid)
          assertEquals(-1, peer.pid)
          assertEquals(self.uid, UnixSockets.peerCredentials(c)!!.uid)
          c.write(ByteBuffer.wrap(byteArrayOf(7)))
          val b = ByteBuffer.allocate(1)
          s.read(b)
          assertEquals(7, b.get(0))
        }
      }
      assertFailsWith<AddressInUseException> { UnixSockets.listen(sock) }
    }
    assertTrue(!Files.exists(sock), "close removes the socket file")
  }

  @Test
  fun replacesStaleSocketNotOtherFiles() {
    val sock = dir.resolve("p.sock")
    val ln = UnixSockets.listen(sock)
    // A stale socket: a hard link that survives the listener.
    val stale = dir.resolve("keep")
    Files.createLink(stale, sock)
    ln.close()
    Files.move(stale, sock)
    UnixSockets.listen(sock).use { UnixSockets.dial(sock).close() }
    val file = dir.resolve("f.sock")
    Files.writeString(file, "x")
    assertFailsWith<java.io.IOException> { UnixSockets.listen(file) }
    assertEquals("x", Files.readString(file))
  }

  @Test
  fun refusesDirectoryOthersCanWrite() {
    val open = dir.resolve("open")
    Files.createDirectory(open)
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"))
    assertFailsWith<UnsafePathException> { UnixSockets.listen(open.resolve("p.sock")) }
  }

  @Test
  fun parsesAddresses() {
    val cases = listOf(
      "unix:/run/a.sock" to null,
      "unix:rel.sock" to "must be absolute",
      "unix:/a/../b.sock" to "not clean",
      "unix:/a/" to "not clean",
      "unix:/" + "x".repeat(107) to "at most 107",
      "unix:@abs" to "abstract sockets are not supported",
      "fd:3" to "not supported on the JVM",
      "org.example.lms" to "service names are not supported",
      " unix:/a" to "white space",
      "tcp:1" to "unknown scheme",
      "" to "empty",
    )
    for ((address, error) in cases) {
      if (error == null) {
        assertEquals(address, UnixAddress.parse(address).toString())
      } else {
        val e = assertFailsWith<IllegalArgumentException>(address) { UnixAddress.parse(address) }
        assertTrue(error in e.message!!, e.message)
      }
    }
  }

  @Test
  fun numericIdsOfPrincipals() {
    val lookup = java.nio.file.FileSystems.getDefault().userPrincipalLookupService
    val self = UnixSockets.selfCredentials().uid
    assertEquals(self, UnixSockets.numericId(lookup.lookupPrincipalByName(self.toString())))
    assertEquals(0, UnixSockets.numericId(lookup.lookupPrincipalByName("root")))
    assertEquals(-1, UnixSockets.numericId(java.nio.file.attribute.UserPrincipal { "nobody-knows" }))
  }

  @Test
  fun policies() {
    val self = UnixSockets.selfCredentials()
    val me = io.github.httpipc.PeerCredentials(self.uid)
    val other = io.github.httpipc.PeerCredentials(self.uid + 4242)
    val root = io.github.httpipc.PeerCredentials(0)
    data class Case(val policy: io.github.httpipc.Policy, val peer: io.github.httpipc.PeerCredentials?, val allowed: Boolean)
    val cases = listOf(
      Case(Policies.sameUser(), me, true),
      Case(Policies.sameUser(), other, false),
      Case(Policies.sameUser(), null, false),
      Case(Policies.sameUserOrRoot(), root, true),
      Case(Policies.sameUserOrRoot(), other, self.uid == other.uid),
      Case(Policies.allowUids(other.uid), other, true),
      Case(Policies.allowUids(other.uid), null, false),
      Case(Policies.anyOf(Policies.sameUser(), Policies.allowUids(other.uid)), other, true),
      Case(Policies.anyOf(), me, false),
      Case(Policies.allowAny(), null, true),
    )
    for ((i, c) in cases.withIndex()) assertEquals(c.allowed, c.policy.check(c.peer) == null, "case $i")
    assertTrue(Policies.admitsAnyUser(Policies.allowAny()))
    assertTrue(!Policies.admitsAnyUser(Policies.anyOf(Policies.sameUser(), Policies.allowUids(5))))
  }
}
