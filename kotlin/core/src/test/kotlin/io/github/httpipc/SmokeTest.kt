package io.github.httpipc

import org.junit.jupiter.api.Test
import kotlin.test.assertEquals

class SmokeTest {
    @Test
    fun builds() = assertEquals(2, 1 + 1)
}
