package io.github.httpipc.android

import android.content.pm.PackageManager
import java.security.MessageDigest

/**
 * Who made a Binder transaction, as the provider learns it at transaction time: the kernel's
 * [uid] and [pid] (`Binder.getCallingUid()`, `getCallingPid()`), the [packages] of that uid
 * (`PackageManager.getPackagesForUid`) and the SHA-256 digests of their current signing
 * certificates, lowercase hex ([signingCertificates]).
 */
data class Caller(
  /** The calling uid. */
  val uid: Int,
  /** The calling pid; 0 for a oneway transaction. */
  val pid: Int,
  /** The packages that run as [uid]; empty when the system names none. */
  val packages: List<String>,
  /** SHA-256 of each current signing certificate of [packages], lowercase hex. */
  val signingCertificates: Set<String>,
)

/** Decides whether a [Caller] may use a provider. */
fun interface CallerPolicy {
  /** Returns null to allow [caller], or a short reason to refuse it. */
  fun check(caller: Caller): String?
}

/** The usual [CallerPolicy] values, as grpc-binder's `SecurityPolicies`. */
object CallerPolicies {
  /** Allows callers signed with one of [sha256] (hex digests of signing certificates, any case, colons allowed). */
  @JvmStatic
  fun signedWith(vararg sha256: String): CallerPolicy {
    val wanted = sha256.map(::normalizeDigest).toSet()
    return CallerPolicy { c ->
      if (c.signingCertificates.any { it in wanted }) null
      else "uid ${c.uid} (${c.packages.joinToString(" ").ifEmpty { "no package" }}) is not signed with an allowed certificate"
    }
  }

  /** Allows callers that have one of [packages] (and so run as its uid). */
  @JvmStatic
  fun packages(vararg packages: String): CallerPolicy {
    val allowed = packages.toSet()
    return CallerPolicy { c ->
      if (c.packages.any { it in allowed }) null
      else "uid ${c.uid} (${c.packages.joinToString(" ").ifEmpty { "no package" }}) is not an allowed package"
    }
  }

  /** Allows callers of the uids [uids]. */
  @JvmStatic
  fun uids(vararg uids: Int): CallerPolicy {
    val allowed = uids.toSet()
    return CallerPolicy { c -> if (c.uid in allowed) null else "uid ${c.uid} is not an allowed uid" }
  }

  /** Allows a caller one of [policies] allows; the refusal joins their reasons. */
  @JvmStatic
  fun anyOf(vararg policies: CallerPolicy): CallerPolicy = CallerPolicy { c ->
    val reasons = ArrayList<String>()
    for (p in policies) reasons.add(p.check(c) ?: return@CallerPolicy null)
    reasons.joinToString("; ").ifEmpty { "no policy allows the caller" }
  }

  internal fun normalizeDigest(hex: String): String {
    val d = hex.replace(":", "").lowercase()
    require(d.length == 64 && d.all { it in '0'..'9' || it in 'a'..'f' }) { "not a SHA-256 digest in hex: $hex" }
    return d
  }
}

/** Signing certificates and packages, read from the [PackageManager]. */
internal object Signing {
  /** SHA-256 (hex) of each current signing certificate of [packageName]; empty when unknown. */
  @Suppress("DEPRECATION")
  fun certificates(pm: PackageManager, packageName: String): Set<String> {
    val info = try {
      pm.getPackageInfo(packageName, PackageManager.GET_SIGNING_CERTIFICATES)
    } catch (_: PackageManager.NameNotFoundException) {
      return emptySet()
    }
    val signers = info.signingInfo?.apkContentsSigners ?: return emptySet()
    return signers.map { sha256(it.toByteArray()) }.toSet()
  }

  /** The [Caller] of [uid] and [pid]. */
  fun caller(pm: PackageManager, uid: Int, pid: Int): Caller {
    val packages = pm.getPackagesForUid(uid)?.toList().orEmpty()
    return Caller(uid, pid, packages, packages.flatMap { certificates(pm, it) }.toSet())
  }

  fun sha256(b: ByteArray): String = MessageDigest.getInstance("SHA-256").digest(b).joinToString("") { "%02x".format(it) }
}
