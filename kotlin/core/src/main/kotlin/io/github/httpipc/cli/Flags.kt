package io.github.httpipc.cli

/** An error in how the command was called: printed with a pointer to the usage, exit status 2. */
internal class UsageException(message: String) : Exception(message)

/** The user asked for the usage (`-h`, `--help`): printed, exit status 0. */
internal class HelpRequested : Exception("help requested")

/**
 * Command-line flags parsed as Go's flag package does, so that the JVM command accepts what the
 * Go command accepts: `-name value`, `--name value`, `-name=value`, boolean flags without a
 * value (or `-name=true`), `--` ending the flags, and (for [parseInterleaved]) flags before,
 * between and after positional arguments.
 */
internal class Flags(private val command: String, private val synopsis: String, private val about: String) {
  private class Def(val name: String, val isBool: Boolean, val help: String, val argName: String) {
    val values = ArrayList<String>()
  }

  private val defs = LinkedHashMap<String, Def>()

  fun string(name: String, help: String, argName: String = "string") {
    defs[name] = Def(name, false, help, argName)
  }

  fun bool(name: String, help: String) {
    defs[name] = Def(name, true, help, "")
  }

  /** The last value given to [name], or null when it was not given. */
  fun value(name: String): String? = defs.getValue(name).values.lastOrNull()

  /** Every value given to [name], in order. */
  fun values(name: String): List<String> = defs.getValue(name).values

  fun isSet(name: String): Boolean = defs.getValue(name).values.isNotEmpty()

  fun flag(name: String): Boolean = value(name)?.let { it == "true" } ?: false

  /** The usage text, in the layout of Go's flag.PrintDefaults. */
  fun usage(): String = buildString {
    append("Usage: httpipc $command $synopsis\n\n$about\n\nOptions:\n")
    for (d in defs.values.sortedBy { it.name }) {
      val head = "  -" + d.name + (if (d.isBool) "" else " " + d.argName)
      if (head.length <= 4) append(head).append('\t').append(d.help).append('\n')
      else append(head).append("\n    \t").append(d.help).append('\n')
    }
  }

  /** Parses flags up to the first positional argument; returns the rest. */
  fun parse(args: List<String>): List<String> {
    var i = 0
    while (i < args.size) {
      val a = args[i]
      if (a.length < 2 || a[0] != '-') return args.subList(i, args.size)
      if (a == "--") return args.subList(i + 1, args.size)
      var name = if (a.startsWith("--")) a.substring(2) else a.substring(1)
      if (name.isEmpty() || name[0] == '-' || name[0] == '=') throw UsageException("bad flag syntax: $a")
      var value: String? = null
      val eq = name.indexOf('=')
      if (eq >= 0) {
        value = name.substring(eq + 1)
        name = name.substring(0, eq)
      }
      val d = defs[name]
      if (d == null) {
        if (name == "h" || name == "help") throw HelpRequested()
        throw UsageException("flag provided but not defined: -$name")
      }
      i++
      if (d.isBool) {
        val v = value ?: "true"
        if (v != "true" && v != "false" && v != "1" && v != "0") {
          throw UsageException("invalid boolean value \"$v\" for -$name")
        }
        d.values.add(if (v == "1") "true" else if (v == "0") "false" else v)
      } else {
        if (value == null) {
          if (i >= args.size) throw UsageException("flag needs an argument: -$name")
          value = args[i++]
        }
        d.values.add(value)
      }
    }
    return emptyList()
  }

  /** Parses flags that may come before, between or after the positional arguments. */
  fun parseInterleaved(args: List<String>): List<String> {
    val pos = ArrayList<String>()
    var rest = args
    while (true) {
      rest = parse(rest)
      if (rest.isEmpty()) return pos
      // parse stops at a positional argument, or after "--".
      val consumed = args.size - rest.size
      if (consumed > 0 && args[consumed - 1] == "--") return pos + rest
      pos.add(rest[0])
      rest = rest.subList(1, rest.size)
    }
  }
}
