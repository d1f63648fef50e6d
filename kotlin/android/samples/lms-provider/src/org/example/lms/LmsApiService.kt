package org.example.lms

import io.github.httpipc.HttpHandler
import io.github.httpipc.android.CallerPolicies
import io.github.httpipc.android.CallerPolicy
import io.github.httpipc.android.HttpIpcService
import java.util.UUID
import java.util.concurrent.ConcurrentHashMap

/**
 * The LMS app's bound service: a small part of its OneRoster rostering API and its xAPI
 * statements, served to other apps over Binder. Callers are the apps signed like this one, plus
 * the math lesson app of another vendor, named by its signing certificate.
 */
class LmsApiService : HttpIpcService() {
  /** Statements recorded, by id (the real app keeps them in SQLite with a sync outbox). */
  private val statements = ConcurrentHashMap<String, String>()

  override fun createCallerPolicy(): CallerPolicy =
    CallerPolicies.anyOf(super.createCallerPolicy(), CallerPolicies.signedWith(*MATH_APP_CERTIFICATES.toTypedArray()))

  override fun createHandler() = HttpHandler { req, resp ->
    val path = req.path.substringBefore('?')
    when {
      req.method == "GET" && path == CLASSES_PATH -> {
        resp.headers["content-type"] = "application/json"
        resp.body.write("""{"classes":[{"sourcedId":"c1","title":"Math 5A"}],"caller_uid":${req.peer?.uid}}""".toByteArray())
      }
      req.method == "POST" && path == STATEMENTS_PATH -> {
        if (req.headers["x-experience-api-version"] == null) {
          resp.status = 400
          resp.body.write("X-Experience-API-Version is required\n".toByteArray())
          return@HttpHandler
        }
        val id = UUID.randomUUID().toString()
        statements[id] = String(req.body.readAllBytes())
        resp.headers["content-type"] = "application/json"
        resp.body.write("""["$id"]""".toByteArray())
      }
      req.method == "GET" && path == STATEMENTS_PATH -> {
        val id = req.path.substringAfter("statementId=", "").substringBefore('&')
        val s = statements[id]
        if (s == null) {
          resp.status = 404
          resp.body.write("no statement $id\n".toByteArray())
        } else {
          resp.headers["content-type"] = "application/json"
          resp.body.write(s.toByteArray())
        }
      }
      else -> {
        resp.status = 404
        resp.body.write("not found\n".toByteArray())
      }
    }
  }

  /** The API's paths. */
  companion object {
    /** OneRoster 1.2: the classes of the school. */
    const val CLASSES_PATH = "/ims/oneroster/rostering/v1p2/classes"

    /** xAPI statements. */
    const val STATEMENTS_PATH = "/xapi/statements"

    /** The SHA-256 of the math lesson app's signing certificate (its vendor publishes it). */
    val MATH_APP_CERTIFICATES: Set<String> = setOf("3a8f0b47f9a2c6de0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6")
  }
}
