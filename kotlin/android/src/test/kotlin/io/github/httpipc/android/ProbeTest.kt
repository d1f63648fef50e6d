package io.github.httpipc.android

import android.os.ParcelFileDescriptor
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [34])
class ProbeTest {
  @Test
  fun probe() {
    println("SDK " + android.os.Build.VERSION.SDK_INT)
    try {
      val p = ParcelFileDescriptor.createSocketPair()
      println("pair " + p[0].fd + " " + p[1].fd + " valid=" + p[0].fileDescriptor.valid())
      val o = ParcelFileDescriptor.AutoCloseOutputStream(p[0])
      o.write(42)
      val i = ParcelFileDescriptor.AutoCloseInputStream(p[1])
      println("read " + i.read())
    } catch (e: Throwable) {
      e.printStackTrace(System.out)
    }
  }
}
