package io.github.httpipc.android

import android.app.Application
import android.app.Service
import android.content.ComponentName
import android.content.Intent
import android.content.pm.Signature
import android.content.pm.SigningInfo
import java.security.MessageDigest
import org.robolectric.Robolectric
import org.robolectric.Shadows.shadowOf
import org.robolectric.android.controller.ServiceController
import org.robolectric.shadow.api.Shadow
import org.robolectric.shadows.ShadowSigningInfo

/** Signing information of an app signed with the one certificate [cert]. */
internal fun signingInfo(cert: ByteArray): SigningInfo {
  val si = Shadow.newInstanceOf(SigningInfo::class.java)
  Shadow.extract<ShadowSigningInfo>(si).setSignatures(arrayOf(Signature(cert)))
  return si
}

/** The SHA-256 of the certificate [cert], in lowercase hex, as a client pins it. */
internal fun sha256Of(cert: ByteArray): String =
  MessageDigest.getInstance("SHA-256").digest(Signature(cert).toByteArray()).joinToString("") { "%02x".format(it) }

/**
 * Creates the service [cls] as the system would on the first bind (Robolectric does not start
 * services on `bindService`) and hands out its binder to intents naming [component].
 */
internal fun <T : Service> startForBind(app: Application, cls: Class<T>, component: ComponentName): ServiceController<T> {
  val intent = Intent().setComponent(component)
  val c = Robolectric.buildService(cls, intent).create()
  shadowOf(app).setComponentNameAndServiceForBindServiceForIntent(intent, component, c.get().onBind(intent))
  return c
}
