package io.github.httpipc.cli

import io.github.httpipc.Policies
import io.github.httpipc.adapter.UpstreamHandler
import io.github.httpipc.client.HttpipcCallFactory
import io.github.httpipc.server.IpcServer
import io.github.httpipc.server.IpcServerOptions
import io.github.httpipc.transport.UnixAddress
import io.github.httpipc.transport.UnixSockets
import java.io.File
import java.io.IOException
import java.io.OutputStream
import java.io.PrintStream
import java.time.Duration
import kotlin.system.exitProcess
import okhttp3.HttpUrl.Companion.toHttpUrlOrNull
import okhttp3.Headers
import okhttp3.Request
import okhttp3.RequestBody
import okhttp3.RequestBody.Companion.toRequestBody
import okio.BufferedSink
import okio.source

/** Entry point of httpipc-jvm.jar: `call` and `serve`, as the Go command has them. */
fun main(args: Array<String>) {
  exitProcess(run(args.toList(), System.out, System.err))
}

private val COMMANDS = listOf(
  "serve" to "expose an existing HTTP server over IPC (reverse proxy)",
  "call" to "send one HTTP request over IPC, like curl",
)

/** Runs the command line [args]; returns the exit status. */
internal fun run(args: List<String>, stdout: PrintStream, stderr: PrintStream): Int {
  if (args.isEmpty() || args[0] in setOf("-h", "--help", "help")) {
    mainUsage(stdout)
    return if (args.isEmpty()) 2 else 0
  }
  val name = args[0]
  val cmd: ((List<String>, PrintStream, PrintStream) -> Int)? = when (name) {
    "call" -> ::runCall
    "serve" -> ::runServe
    "bench-client" -> ::runBenchClient
    else -> null
  }
  if (cmd == null) {
    stderr.print("httpipc: unknown command \"$name\"\n\n")
    mainUsage(stderr)
    return 2
  }
  return try {
    cmd(args.drop(1), stdout, stderr)
  } catch (e: HelpRequested) {
    0
  } catch (e: UsageException) {
    stderr.print("httpipc $name: ${e.message}\nRun 'httpipc $name --help' for usage.\n")
    2
  } catch (e: Exception) {
    stderr.print("httpipc $name: ${e.message ?: e.toString()}\n")
    1
  }
}

private fun mainUsage(w: PrintStream) {
  w.print("httpipc serves and calls HTTP APIs over local IPC (Unix sockets).\n\nUsage: httpipc COMMAND [options]\n\nCommands:\n")
  for ((n, s) in COMMANDS) w.print("  %-7s %s\n".format(n, s))
  w.print("\nAn ADDR is an ipc-service address: unix:/path.sock (the JVM command speaks only this form).\n")
  w.print("Run 'httpipc COMMAND --help' for the options of a command.\n")
}

private fun parseOrHelp(flags: Flags, stderr: PrintStream, parse: () -> List<String>): List<String> {
  try {
    return parse()
  } catch (e: HelpRequested) {
    stderr.print(flags.usage())
    throw e
  } catch (e: UsageException) {
    if (e.message!!.startsWith("flag ") || e.message!!.startsWith("bad flag") || e.message!!.startsWith("invalid boolean")) {
      stderr.print(e.message + "\n" + flags.usage())
    }
    throw e
  }
}

internal fun runCall(args: List<String>, stdout: PrintStream, stderr: PrintStream): Int {
  val flags = Flags(
    "call", "[-X METHOD] [-H 'Name: value']... [-d DATA|@FILE|@-] [-i] ADDR PATH",
    "Sends one request to the provider at ADDR and writes the response body to standard output,\n" +
      "like curl. PATH is the path and query, e.g. /users/1?fields=name. The exit status is 0 when\n" +
      "a response arrived (whatever its status; see --fail), 1 on a transport error.",
  )
  flags.string("X", "request method (default GET, or POST with -d)")
  flags.string("H", "request header 'Name: value' (repeatable)", "value")
  flags.string("d", "request body: DATA, @FILE to read a file, @- for standard input")
  flags.bool("i", "print the status line and response headers before the body")
  flags.bool("fail", "exit with status 22 when the response status is 400 or more")
  val pos = parseOrHelp(flags, stderr) { flags.parseInterleaved(args) }
  if (pos.size != 2) throw UsageException("want ADDR and PATH, got ${pos.size} arguments")
  val (addr, path) = pos
  if (!path.startsWith("/")) throw UsageException("PATH \"$path\" must start with /")
  UnixAddress.parse(addr) // a clear error for other forms
  val headers = Headers.Builder()
  for (h in flags.values("H")) {
    val colon = h.indexOf(':')
    if (colon < 0 || h.substring(0, colon).isBlank()) throw UsageException("-H \"$h\" is not 'Name: value'")
    headers.add(h.substring(0, colon).trim(), h.substring(colon + 1).trim())
  }
  var body: RequestBody? = null
  if (flags.isSet("d")) {
    val data = flags.value("d")!!
    if (headers.build().names().none { it.equals("content-type", ignoreCase = true) }) {
      headers.add("Content-Type", "application/x-www-form-urlencoded")
    }
    body = when {
      data == "@-" -> streamBody(System.`in`.source())
      data.startsWith("@") -> {
        val f = File(data.substring(1))
        if (!f.canRead()) throw IOException("reading request body: open ${f.path}: no such file or not readable")
        streamBody(f.source())
      }
      else -> data.toRequestBody(null)
    }
  }
  val method = flags.value("X") ?: if (body != null) "POST" else "GET"
  val url = "http://localhost$path".toHttpUrlOrNull() ?: throw UsageException("PATH \"$path\" is not a valid path")
  val request = try {
    Request.Builder().url(url).headers(headers.build()).method(method, body ?: if (method in setOf("POST", "PUT", "PATCH")) ByteArray(0).toRequestBody(null) else null).build()
  } catch (e: IllegalArgumentException) {
    throw UsageException(e.message ?: "invalid request")
  }
  HttpipcCallFactory(addr).use { f ->
    f.newCall(request).execute().use { r ->
      val include = flags.flag("i")
      if (include) {
        stdout.write("HTTP/1.1 ${r.code} ${r.message}\r\n".toByteArray())
        writeHeaders(stdout, r.headers)
        stdout.write("\r\n".toByteArray())
      }
      try {
        r.body.source().inputStream().copyTo(stdout as OutputStream)
      } catch (e: IOException) {
        throw IOException("reading response body: ${e.message}", e)
      }
      if (include) {
        val t = r.trailers()
        if (t.size > 0) writeHeaders(stdout, t)
      }
      stdout.flush()
      if (flags.flag("fail") && r.code >= 400) {
        stderr.print("httpipc call: the provider answered ${r.code} ${r.message}\n")
        return 22
      }
    }
  }
  return 0
}

private fun streamBody(source: okio.Source) = object : RequestBody() {
  override fun contentType() = null

  override fun isOneShot() = true

  override fun writeTo(sink: BufferedSink) {
    source.use { sink.writeAll(it) }
  }
}

/** Writes header lines as Go does: canonical names, sorted, values in order. */
private fun writeHeaders(out: PrintStream, h: Headers) {
  val byName = sortedMapOf<String, MutableList<String>>()
  for ((n, v) in h) byName.getOrPut(canonical(n)) { ArrayList() }.add(v)
  for ((n, vs) in byName) for (v in vs) out.write("$n: $v\r\n".toByteArray(Charsets.UTF_8))
}

/** Go's CanonicalHeaderKey: the first letter and each letter after '-' upper case. */
internal fun canonical(name: String): String {
  if (name.any { !(it.isLetterOrDigit() || it == '-' || it in "!#$%&'*+.^_`|~") || it.code > 127 }) return name
  val sb = StringBuilder(name.length)
  var upper = true
  for (c in name) {
    sb.append(if (upper) c.uppercaseChar() else c.lowercaseChar())
    upper = c == '-'
  }
  return sb.toString()
}

internal fun runServe(args: List<String>, stdout: PrintStream, stderr: PrintStream): Int {
  val flags = Flags(
    "serve", "--listen ADDR --upstream URL [options]",
    "Serves an existing HTTP server over IPC: every request that arrives on ADDR in the httpipc\n" +
      "protocol is forwarded to URL, streaming both ways.",
  )
  flags.string("listen", "ipc-service address to listen on (required)")
  flags.string("upstream", "base URL of the HTTP server to forward to (required)")
  flags.string("idle", "exit after this long without requests (0: never)", "duration")
  flags.string("allow-uid", "also allow callers running as this uid (repeatable; default: same user only)", "value")
  flags.bool("allow-any", "allow every caller that can open the socket")
  flags.string("max-body", "largest request body in bytes (0: no limit)", "int")
  val rest = parseOrHelp(flags, stderr) { flags.parse(args) }
  if (rest.isNotEmpty()) throw UsageException("unexpected argument \"${rest[0]}\"")
  val listen = flags.value("listen") ?: ""
  val upstream = flags.value("upstream") ?: ""
  if (listen.isEmpty() || upstream.isEmpty()) throw UsageException("--listen and --upstream are required")
  val up = upstream.toHttpUrlOrNull()
  if (up == null || !(upstream.startsWith("http://") || upstream.startsWith("https://"))) {
    throw UsageException("--upstream \"$upstream\" is not an http:// or https:// URL")
  }
  var policy = Policies.sameUser()
  val uids = flags.values("allow-uid").map { s -> s.toIntOrNull()?.takeIf { it >= 0 } ?: throw UsageException("--allow-uid \"$s\" is not a user id") }
  if (uids.isNotEmpty()) policy = Policies.anyOf(policy, Policies.allowUids(*uids.toIntArray()))
  if (flags.flag("allow-any")) {
    stderr.print("WARN --allow-any: every process that can open the socket may call the upstream\n")
    policy = Policies.allowAny()
  }
  val idle = flags.value("idle")?.let { parseGoDuration(it) ?: throw UsageException("invalid value \"$it\" for flag -idle: parse error") } ?: Duration.ZERO
  val maxBody = flags.value("max-body")?.let { it.toLongOrNull() ?: throw UsageException("invalid value \"$it\" for flag -max-body: parse error") } ?: 0L
  val address = try {
    UnixAddress.parse(listen)
  } catch (e: IllegalArgumentException) {
    throw UsageException(e.message!!)
  }
  val listener = UnixSockets.listen(address.path)
  val options = IpcServerOptions.Builder().policy(policy).idleTimeout(idle).maxRequestBodyBytes(maxBody).build()
  val server = IpcServer(UpstreamHandler(upstream), options)
  stderr.print("INFO serving listen=$listen socket=$address upstream=$up\n")
  val hook = Thread { server.shutdown(Duration.ofSeconds(10)) }
  Runtime.getRuntime().addShutdownHook(hook)
  server.serve(listener)
  return 0
}

/** Parses a Go duration such as `30s`, `1m30s`, `1.5h`, `250ms`; null when invalid. */
internal fun parseGoDuration(s: String): Duration? {
  if (s == "0") return Duration.ZERO
  val re = Regex("(\\d+(?:\\.\\d*)?|\\.\\d+)(ns|us|µs|ms|s|m|h)")
  var pos = 0
  var nanos = 0.0
  if (s.isEmpty()) return null
  while (pos < s.length) {
    val m = re.matchAt(s, pos) ?: return null
    val v = m.groupValues[1].toDouble()
    nanos += v * when (m.groupValues[2]) {
      "ns" -> 1.0; "us", "µs" -> 1e3; "ms" -> 1e6; "s" -> 1e9; "m" -> 60e9; else -> 3600e9
    }
    pos = m.range.last + 1
  }
  return Duration.ofNanos(nanos.toLong())
}
