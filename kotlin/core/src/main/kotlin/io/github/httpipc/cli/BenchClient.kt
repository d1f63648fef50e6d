package io.github.httpipc.cli

import io.github.httpipc.client.HttpipcCallFactory
import io.github.httpipc.transport.UnixAddress
import java.io.PrintStream
import okhttp3.MediaType.Companion.toMediaType
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody

/**
 * `bench-client ADDR`: the Kotlin client's side of `httpipc bench --jvm`, which drives it through
 * standard input and output so that the JIT stays warm across the benchmark's rounds. Each line
 * in is `rtt SIZE MILLIS WARMUP` (POST SIZE bytes to /echo, read them back) or
 * `download SIZE MILLIS WARMUP` (GET /download?n=SIZE); each line out is `OPS NANOS`: the
 * operations of the measured loop, which runs for at least MILLIS milliseconds and at least one
 * operation after WARMUP unmeasured ones, and the nanoseconds it took. Calls go through OkHttp
 * with [HttpipcCallFactory], as an app's would.
 */
internal fun runBenchClient(args: List<String>, stdout: PrintStream, stderr: PrintStream): Int {
  if (args.size != 1) throw UsageException("want ADDR, got ${args.size} arguments")
  UnixAddress.parse(args[0]) // a usage error for another form
  HttpipcCallFactory(args[0]).use { factory ->
    val input = System.`in`.bufferedReader()
    val buf = ByteArray(64 shl 10)
    while (true) {
      val line = input.readLine() ?: return 0
      val f = line.trim().split(' ')
      if (f.size != 4) throw UsageException("bad command line \"$line\"")
      val size = f[1].toInt()
      val millis = f[2].toLong()
      val warm = f[3].toInt()
      val payload = ByteArray(size) { 'x'.code.toByte() }.toRequestBody("application/octet-stream".toMediaType())
      val request = when (f[0]) {
        "rtt" -> Request.Builder().url("http://bench/echo").post(payload).build()
        "download" -> Request.Builder().url("http://bench/download?n=$size").build()
        else -> throw UsageException("unknown operation \"${f[0]}\"")
      }
      val op = {
        factory.newCall(request).execute().use { r ->
          val source = r.body.byteStream()
          var n = 0L
          while (true) {
            val k = source.read(buf)
            if (k < 0) break
            n += k
          }
          check(r.code == 200 && n == size.toLong()) { "status ${r.code}, $n bytes, want $size" }
        }
      }
      repeat(warm) { op() }
      val start = System.nanoTime()
      val end = start + millis * 1_000_000
      var ops = 0
      do {
        op()
        ops++
      } while (System.nanoTime() < end)
      stdout.println("$ops ${System.nanoTime() - start}")
      stdout.flush()
    }
  }
}
