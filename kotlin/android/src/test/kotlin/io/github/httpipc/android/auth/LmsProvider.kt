package io.github.httpipc.android.auth

import io.github.httpipc.HttpHandler
import io.github.httpipc.ServerRequest
import io.github.httpipc.ServerResponse
import io.github.httpipc.android.HttpIpcService
import java.net.URLDecoder
import java.security.MessageDigest
import java.util.Base64
import java.util.concurrent.CopyOnWriteArrayList

/**
 * The authorization app the auth tests bind: a token endpoint (`POST /oauth/token`) that redeems
 * [code] when the PKCE verifier matches [challenge] and refreshes `rt-1`, and an API
 * (`GET /api/classes`) that wants the last token it issued. [tokenRequests] records the forms it
 * was sent, [apiCalls] the `Authorization` values it saw.
 */
class LmsProvider : HttpIpcService() {
  @Volatile var code = "good-code"
  @Volatile var challenge = ""
  @Volatile var expiresIn = 3600
  @Volatile private var issued = 0
  val tokenRequests = CopyOnWriteArrayList<Map<String, String>>()
  val apiCalls = CopyOnWriteArrayList<String>()

  override fun createHandler() = HttpHandler { req, resp ->
    when {
      req.method == "POST" && req.path == "/oauth/token" -> token(req, resp)
      req.method == "GET" && req.path == "/api/classes" -> {
        val auth = req.headers["authorization"] ?: ""
        apiCalls.add(auth)
        if (auth != "Bearer at-$issued") {
          resp.status = 401
          resp.headers["www-authenticate"] = "Bearer error=\"invalid_token\""
        } else {
          resp.headers["content-type"] = "application/json"
          resp.body.write("""{"classes":["math-7b"],"uid":${req.peer?.uid}}""".toByteArray())
        }
      }
      else -> resp.status = 404
    }
  }

  private fun token(req: ServerRequest, resp: ServerResponse) {
    val form = String(req.body.readBytes()).split('&').filter { it.isNotEmpty() }.associate {
      val (k, v) = it.split('=', limit = 2)
      URLDecoder.decode(k, "UTF-8") to URLDecoder.decode(v, "UTF-8")
    }
    tokenRequests.add(form)
    resp.headers["content-type"] = "application/json"
    val ok = when (form["grant_type"]) {
      "authorization_code" -> form["code"] == code && s256(form["code_verifier"] ?: "") == challenge && form["client_id"] == "org.example.math"
      "refresh_token" -> form["refresh_token"] == "rt-1" && form["client_id"] == "org.example.math"
      else -> false
    }
    if (!ok) {
      resp.status = 400
      resp.body.write("""{"error":"invalid_grant","error_description":"no"}""".toByteArray())
      return
    }
    issued++
    val refresh = if (form["grant_type"] == "authorization_code") ""","refresh_token":"rt-1"""" else ""
    resp.body.write("""{"access_token":"at-$issued","token_type":"bearer","expires_in":$expiresIn$refresh,"scope":"roster.read"}""".toByteArray())
  }

  private fun s256(v: String) = Base64.getUrlEncoder().withoutPadding().encodeToString(MessageDigest.getInstance("SHA-256").digest(v.toByteArray()))
}
