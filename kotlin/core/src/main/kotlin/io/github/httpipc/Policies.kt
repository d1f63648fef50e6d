package io.github.httpipc

import io.github.httpipc.transport.UnixSockets

/**
 * The usual [Policy] values (protocol section 5).
 *
 * A provider's default is [sameUser]; a client's default check of its provider is
 * [sameUserOrRoot].
 */
object Policies {
  /** A user and group id no system assigns (2^31-2); a policy that admits it admits everyone. */
  private const val STRANGER_ID = (1 shl 31) - 2

  /** Allows peers that run as the same user as this process. */
  fun sameUser(): Policy = sameUser(UnixSockets.selfCredentials().uid)

  internal fun sameUser(self: Int): Policy = Policy { p ->
    when {
      p == null -> "peer credentials unknown"
      self >= 0 && p.uid == self -> null
      else -> "${describe(p)} is not the same user as this process"
    }
  }

  /** Allows peers that run as the same user as this process or as root. */
  fun sameUserOrRoot(): Policy {
    val same = sameUser()
    return Policy { p -> if (p != null && p.uid == 0) null else same.check(p) }
  }

  /** Allows peers whose user id is one of [uids]. */
  fun allowUids(vararg uids: Int): Policy {
    val allowed = uids.toSet()
    return Policy { p ->
      if (p != null && p.uid >= 0 && p.uid in allowed) null
      else "${describe(p)} is not in the allowed uids ${uids.joinToString(" ", "[", "]")}"
    }
  }

  /** Allows peers whose primary group id is one of [gids]. */
  fun allowGids(vararg gids: Int): Policy {
    val allowed = gids.toSet()
    return Policy { p ->
      if (p != null && p.gid >= 0 && p.gid in allowed) null
      else "${describe(p)} is not in the allowed gids ${gids.joinToString(" ", "[", "]")}"
    }
  }

  /**
   * Allows every peer. Use it only where the socket's file permissions already restrict who can
   * connect.
   */
  fun allowAny(): Policy = Policy { null }

  /** Allows a peer that one of [policies] allows; the refusal joins their reasons. */
  fun anyOf(vararg policies: Policy): Policy {
    val list = policies.toList()
    return Policy { p ->
      val reasons = ArrayList<String>(list.size)
      for (policy in list) {
        val r = policy.check(p) ?: return@Policy null
        reasons.add(r)
      }
      reasons.joinToString("; ").ifEmpty { "no policy allows the peer" }
    }
  }

  /**
   * Whether [policy] admits a peer that no real policy names (uid and gid 2^31-2). A policy that
   * does admits every user, which a provider must not do on a socket no file permission guards
   * (protocol section 5).
   */
  fun admitsAnyUser(policy: Policy): Boolean =
    policy.check(PeerCredentials(STRANGER_ID, STRANGER_ID, -1)) == null

  /** Formats the known parts of [p], as `uid=1000 gid=1000 pid=42`. */
  fun describe(p: PeerCredentials?): String {
    if (p == null) return "unknown"
    val parts = buildList {
      if (p.uid >= 0) add("uid=${p.uid}")
      if (p.gid >= 0) add("gid=${p.gid}")
      if (p.pid >= 0) add("pid=${p.pid}")
    }
    return parts.joinToString(" ").ifEmpty { "unknown" }
  }
}
