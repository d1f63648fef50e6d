package io.github.httpipc.bhttp

/**
 * An ordered list of field lines (a header or trailer section).
 *
 * Names are compared case-insensitively and stored in lowercase, as they travel in Binary HTTP
 * (protocol section 3, rule 3). The lines of one name keep their order, which is significant;
 * the order of lines of different names carries no meaning. Iteration yields `(name, value)`
 * pairs in insertion order. Names and values are checked only when encoded ([MessageWriter]).
 *
 * A `Fields` is not safe for concurrent mutation.
 */
class Fields() : Iterable<Pair<String, String>> {
  private var names = arrayOfNulls<String>(8)
  private var values = arrayOfNulls<String>(8)

  /** The number of field lines. */
  var size: Int = 0
    private set

  /** Creates fields holding [lines] in order. */
  constructor(vararg lines: Pair<String, String>) : this() {
    for ((n, v) in lines) add(n, v)
  }

  /** The name of line [index], lowercase. */
  fun name(index: Int): String {
    checkIndex(index)
    return names[index]!!
  }

  /** The value of line [index]. */
  fun value(index: Int): String {
    checkIndex(index)
    return values[index]!!
  }

  /** Appends the line [name]: [value]; returns this. */
  fun add(name: String, value: String): Fields {
    addLowercase(lower(name), value)
    return this
  }

  internal fun addLowercase(name: String, value: String) {
    if (size == names.size) {
      names = names.copyOf(size * 2)
      values = values.copyOf(size * 2)
    }
    names[size] = name
    values[size] = value
    size++
  }

  /** The first value of [name], or null. */
  operator fun get(name: String): String? {
    for (i in 0 until size) if (names[i].equals(name, ignoreCase = true)) return values[i]
    return null
  }

  /** Every value of [name], in order. */
  fun values(name: String): List<String> {
    var out: MutableList<String>? = null
    for (i in 0 until size) {
      if (names[i].equals(name, ignoreCase = true)) {
        if (out == null) out = ArrayList(2)
        out.add(values[i]!!)
      }
    }
    return out ?: emptyList()
  }

  /** The distinct names, lowercase, in order of first appearance. */
  fun names(): Set<String> {
    val out = LinkedHashSet<String>()
    for (i in 0 until size) out.add(names[i]!!)
    return out
  }

  /** Whether a line named [name] is present. */
  operator fun contains(name: String): Boolean = get(name) != null

  /** Removes every line named [name]; returns this. */
  fun remove(name: String): Fields {
    var j = 0
    for (i in 0 until size) {
      if (!names[i].equals(name, ignoreCase = true)) {
        names[j] = names[i]
        values[j] = values[i]
        j++
      }
    }
    for (i in j until size) {
      names[i] = null
      values[i] = null
    }
    size = j
    return this
  }

  /** Replaces every line named [name] by one line [name]: [value]; returns this. */
  operator fun set(name: String, value: String): Fields {
    remove(name)
    return add(name, value)
  }

  /** Whether there are no lines. */
  fun isEmpty(): Boolean = size == 0

  /** A copy that does not change with this. */
  fun copy(): Fields {
    val f = Fields()
    f.names = names.copyOf(maxOf(size, 1))
    f.values = values.copyOf(maxOf(size, 1))
    f.size = size
    return f
  }

  override fun iterator(): Iterator<Pair<String, String>> = object : Iterator<Pair<String, String>> {
    private var i = 0

    override fun hasNext() = i < size

    override fun next(): Pair<String, String> {
      if (i >= size) throw NoSuchElementException()
      val p = names[i]!! to values[i]!!
      i++
      return p
    }
  }

  /** Equal when both hold the same lines in the same order. */
  override fun equals(other: Any?): Boolean {
    if (other !is Fields || other.size != size) return false
    for (i in 0 until size) if (names[i] != other.names[i] || values[i] != other.values[i]) return false
    return true
  }

  override fun hashCode(): Int {
    var h = size
    for (i in 0 until size) h = 31 * (31 * h + names[i].hashCode()) + values[i].hashCode()
    return h
  }

  override fun toString(): String = joinToString(", ", "Fields[", "]") { (n, v) -> "$n: $v" }

  /** The line indexes in encoding order: sorted bytewise by name, lines of one name in order. */
  internal fun sortedIndexes(): IntArray {
    val idx = IntArray(size) { it }
    var sorted = true
    for (i in 1 until size) if (names[i - 1]!! > names[i]!!) { sorted = false; break }
    if (sorted) return idx
    // Names are ASCII tokens once validated, so UTF-16 order is byte order; the sort is stable.
    return idx.sortedWith { a, b -> names[a]!!.compareTo(names[b]!!) }.toIntArray()
  }

  private fun checkIndex(index: Int) {
    if (index < 0 || index >= size) throw IndexOutOfBoundsException("index $index, size $size")
  }

  internal companion object {
    fun lower(s: String): String {
      for (c in s) if (c in 'A'..'Z') return s.lowercase(java.util.Locale.ROOT)
      return s
    }
  }
}
