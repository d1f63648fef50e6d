package io.github.httpipc.transport

import java.nio.file.Path

/**
 * An ipc-service address of the form `unix:PATH` (protocol section 2): a socket file at an
 * absolute, clean path of at most 107 bytes.
 *
 * The other forms of the grammar (`unix:@name`, `fd:N`, `pipe:NAME`, `dbus:NAME`, service names)
 * are recognised and rejected with an error saying that the JVM cannot reach them.
 *
 * @property path the socket file.
 */
class UnixAddress private constructor(val path: Path) {
  /** Returns the canonical form, `unix:` and the path. */
  override fun toString(): String = "unix:$path"

  override fun equals(other: Any?): Boolean = other is UnixAddress && other.path == path

  override fun hashCode(): Int = path.hashCode()

  /** Parsing of addresses. */
  companion object {
    private const val MAX_UNIX_PATH = 107
    private const val FORMS =
      "unix:/abs/path.sock, unix:@name, fd:N, pipe:NAME, dbus:NAME or a service name like org.example.lms"

    /**
     * Parses [address], which must have the form `unix:/absolute/path`.
     *
     * @throws IllegalArgumentException naming what is wrong, or that the form is valid but not
     *   supported on the JVM.
     */
    fun parse(address: String): UnixAddress {
      fun fail(why: String): Nothing =
        throw IllegalArgumentException("invalid ipc-service address \"$address\": $why")
      if (address.isEmpty()) fail("empty; want $FORMS")
      if (address.trim() != address) fail("leading or trailing white space")
      if (address.indexOf('\u0000') >= 0) fail("contains a NUL byte")
      val colon = address.indexOf(':')
      if (colon < 0) fail("service names are not supported on the JVM; use unix:/path")
      val scheme = address.substring(0, colon)
      val rest = address.substring(colon + 1)
      when (scheme) {
        "unix" -> {}
        "fd", "pipe", "dbus" -> fail("$scheme: addresses are not supported on the JVM; use unix:/path")
        else -> fail("unknown scheme \"$scheme\"; want $FORMS")
      }
      if (rest.startsWith("@")) fail("abstract sockets are not supported on the JVM; use unix:/path")
      if (!rest.startsWith("/")) fail("socket path must be absolute (unix:/path) or abstract (unix:@name)")
      val clean = cleanPath(rest)
      if (clean != rest) {
        fail("socket path is not clean (no '.', '..', '//' or trailing '/'); did you mean unix:$clean?")
      }
      val bytes = rest.toByteArray(Charsets.UTF_8).size
      if (bytes > MAX_UNIX_PATH) fail("socket path is $bytes bytes; Unix sockets allow at most $MAX_UNIX_PATH")
      return UnixAddress(Path.of(rest))
    }

    /** Lexical cleaning of an absolute path, as Go's path.Clean does. */
    private fun cleanPath(p: String): String {
      val out = ArrayList<String>()
      for (seg in p.split('/')) {
        when (seg) {
          "", "." -> {}
          ".." -> if (out.isNotEmpty()) out.removeAt(out.size - 1)
          else -> out.add(seg)
        }
      }
      return "/" + out.joinToString("/")
    }
  }
}
