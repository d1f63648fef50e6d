package org.example.math

import android.content.Context
import io.github.httpipc.android.AndroidServiceAddress
import io.github.httpipc.android.HttpIpcClient
import io.github.httpipc.android.HttpIpcClientOptions
import io.github.httpipc.android.StreamPath
import java.io.Closeable
import java.io.IOException
import okhttp3.Call
import okhttp3.MediaType.Companion.toMediaType
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody

/**
 * The math lesson app's use of the LMS: the classes of the learner, and an xAPI statement when a
 * lesson is completed. The code that makes the calls is the same online and offline; only the
 * [Call.Factory] differs: the LMS's online server over the network, or the LMS app on the device
 * over Binder ([offline]).
 */
class MathLesson(private val calls: Call.Factory, private val baseUrl: String = "http://lms") : Closeable {
  private var onClose: () -> Unit = {}

  /** The OneRoster classes, as JSON. */
  fun classes(): String = send(Request.Builder().url("$baseUrl/ims/oneroster/rostering/v1p2/classes").build())

  /** Records that the learner completed [activity]; returns the statement ids, as JSON. */
  fun completed(activity: String): String {
    val statement = """{"actor":{"mbox":"mailto:learner@example.org"},"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"id":"$activity"}}"""
    return send(
      Request.Builder().url("$baseUrl/xapi/statements")
        .header("X-Experience-API-Version", "1.0.3")
        .post(statement.toRequestBody("application/json".toMediaType()))
        .build(),
    )
  }

  private fun send(request: Request): String = calls.newCall(request).execute().use { r ->
    if (!r.isSuccessful) throw IOException("${request.method} ${request.url.encodedPath}: ${r.code} ${r.body.string().trim()}")
    r.body.string()
  }

  /** Unbinds from the LMS app, when offline. */
  override fun close() = onClose()

  /** How the lesson app reaches the LMS. */
  companion object {
    /** The LMS app's service. */
    const val LMS_SERVICE = "android:org.example.lms/.LmsApiService"

    /** The SHA-256 of the LMS app's signing certificate: only that app is trusted as the LMS. */
    const val LMS_CERTIFICATE = "6d1c0a1f2e3d4c5b6a79880716253443526170819fa0b1c2d3e4f5a6b7c8d9e0"

    /** Online: the LMS's server over the network. */
    fun online(baseUrl: String, client: OkHttpClient = OkHttpClient()) = MathLesson(client, baseUrl)

    /**
     * Offline: the LMS app on this device over Binder, bound on the first call (the system
     * starts it), trusted only if signed with one of [certificates]; requests travel on a
     * handed-over socket, or over oneway transactions with [StreamPath.LINK].
     */
    fun offline(
      context: Context,
      certificates: Set<String> = setOf(LMS_CERTIFICATE),
      client: OkHttpClient = OkHttpClient(),
      streamPath: StreamPath = StreamPath.DESCRIPTOR,
    ): MathLesson {
      val ipc = HttpIpcClient(context, AndroidServiceAddress.parse(LMS_SERVICE), HttpIpcClientOptions(certificates, streamPath = streamPath))
      return MathLesson(ipc.callFactory(client)).also { it.onClose = ipc::close }
    }
  }
}
