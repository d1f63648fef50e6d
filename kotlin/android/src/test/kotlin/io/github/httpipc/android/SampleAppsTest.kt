package io.github.httpipc.android

import android.app.Application
import android.content.ComponentName
import android.content.pm.ApplicationInfo
import android.content.pm.PackageInfo
import android.content.pm.ServiceInfo
import android.os.Process
import java.io.File
import javax.xml.parsers.DocumentBuilderFactory
import org.example.lms.LmsApiService
import org.example.math.MathLesson
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.android.controller.ServiceController
import org.robolectric.annotation.Config
import org.w3c.dom.Element

/**
 * The sample apps of samples/: the LMS app's `LmsApiService` and the math lesson app's
 * `MathLesson`, compiled with these tests, run against each other on Android 14's framework
 * classes under Robolectric, and their manifests declare what the binding needs.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [34], manifest = Config.NONE)
class SampleAppsTest {
  private lateinit var app: Application
  private var provider: ServiceController<LmsApiService>? = null
  private var lesson: MathLesson? = null
  private val lmsCert = byteArrayOf(7, 7, 7, 7)
  private val ownCert = byteArrayOf(1, 2, 3, 4)

  @Before
  fun setUp() {
    app = RuntimeEnvironment.getApplication()
    val pm = shadowOf(app.packageManager)
    // This process stands for both apps: the math app calls, signed with ownCert, which the
    // LMS service admits as "signed like this app".
    pm.getInternalMutablePackageInfo(app.packageName).signingInfo = signingInfo(ownCert)
    // The LMS app as the math app's package manager sees it: installed, signed with lmsCert,
    // exporting the service its manifest declares.
    pm.installPackage(PackageInfo().apply {
      packageName = LMS
      applicationInfo = ApplicationInfo().apply { packageName = LMS; uid = 10123 }
      signingInfo = signingInfo(lmsCert)
    })
    pm.addOrUpdateService(ServiceInfo().apply {
      packageName = LMS
      name = LmsApiService::class.java.name
      exported = true
      permission = "org.example.lms.permission.CALL_API"
      applicationInfo = pm.getInternalMutablePackageInfo(LMS).applicationInfo
    })
    // The system starts the service on the first bind; Robolectric needs it done here.
    provider = startForBind(app, LmsApiService::class.java, ComponentName(LMS, LmsApiService::class.java.name))
  }

  @After
  fun tearDown() {
    lesson?.close()
    provider?.destroy()
  }



  @Test
  fun theLessonReadsClassesAndRecordsAStatementOverBinder() {
    // Over oneway transactions: Robolectric cannot make the socketpair of the descriptor path
    // (BinderTest.robolectricCannotMakeASocketpair).
    val l = MathLesson.offline(app, certificates = setOf(sha256Of(lmsCert)), streamPath = StreamPath.LINK)
    lesson = l
    val classes = l.classes()
    assertTrue(classes, classes.contains("\"Math 5A\"") && classes.contains("\"caller_uid\":${Process.myUid()}"))
    val ids = l.completed("https://math.example/lessons/fractions-1")
    assertTrue(ids, Regex("""\["[0-9a-f-]{36}"]""").matches(ids))
  }

  @Test
  fun anLmsSignedWithAnotherCertificateIsNotTrusted() {
    val l = MathLesson.offline(app, certificates = setOf(sha256Of(byteArrayOf(6, 6, 6))))
    lesson = l
    try {
      l.classes()
      throw AssertionError("the lesson trusted an LMS signed with another certificate")
    } catch (e: io.github.httpipc.client.ProviderIdentityException) {
    }
  }

  @Test
  fun manifestsDeclareTheServicePermissionAndQueries() {
    val samples = File(System.getProperty("httpipc.samples") ?: "samples")
    val lms = manifest(File(samples, "lms-provider/AndroidManifest.xml"))
    assertEquals(LMS, lms.getAttribute("package"))
    val service = lms.getElementsByTagName("service").item(0) as Element
    assertEquals(".LmsApiService", service.getAttribute("android:name"))
    assertEquals("true", service.getAttribute("android:exported"))
    assertEquals("org.example.lms.permission.CALL_API", service.getAttribute("android:permission"))
    assertEquals("org.example.lms.permission.CALL_API", (lms.getElementsByTagName("permission").item(0) as Element).getAttribute("android:name"))
    val math = manifest(File(samples, "math-client/AndroidManifest.xml"))
    assertEquals("org.example.lms.permission.CALL_API", (math.getElementsByTagName("uses-permission").item(0) as Element).getAttribute("android:name"))
    val queries = math.getElementsByTagName("queries").item(0) as Element
    assertEquals(LMS, (queries.getElementsByTagName("package").item(0) as Element).getAttribute("android:name"))
    // The address the lesson binds names the service the LMS manifest exports.
    assertEquals("android:$LMS/${service.getAttribute("android:name")}", MathLesson.LMS_SERVICE)
  }

  private fun manifest(f: File): Element =
    DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(f).documentElement

  private companion object {
    const val LMS = "org.example.lms"
  }
}
