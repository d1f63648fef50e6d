// Package testprog finds the programs that tests start (curl,
// systemd-socket-activate, dbus-daemon): a missing one skips the test,
// unless the environment variable that requires it is set to a non-empty
// value, as .ci/run sets them, in which case the test fails.
package testprog

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// The variables that turn a skip into a failure.
const (
	// Clients requires the clients the tests run: curl, headless Chromium
	// and Node.js.
	Clients = "HTTPIPC_REQUIRE_CLIENTS"
	// Systemd requires systemd-socket-activate (Debian package systemd).
	Systemd = "HTTPIPC_REQUIRE_SYSTEMD"
	// DBus requires dbus-daemon (Debian package dbus-daemon).
	DBus = "HTTPIPC_REQUIRE_DBUS"
	// IPv6 requires an IPv6 loopback address (::1). .ci/run does not set
	// it: containers and CI machines may run with IPv6 turned off, and
	// IPv4 loopback is what the proxy listens on by default.
	IPv6 = "HTTPIPC_REQUIRE_IPV6"
)

// Path returns the path of prog, skipping t (or failing it, with env set)
// when prog is not installed.
func Path(t testing.TB, prog, env string) string {
	t.Helper()
	path, err := exec.LookPath(prog)
	if err != nil {
		Missing(t, env, prog+" is not installed")
	}
	return path
}

// Has reports whether prog is installed, for a test that checks more when
// it is. With env set, a missing prog fails t instead.
func Has(t testing.TB, prog, env string) bool {
	t.Helper()
	if _, err := exec.LookPath(prog); err != nil {
		if os.Getenv(env) != "" {
			t.Fatalf("%s is not installed (%s is set)", prog, env)
		}
		return false
	}
	return true
}

// Missing skips t for want of what why names, or fails it when env is set.
func Missing(t testing.TB, env string, why ...any) {
	t.Helper()
	msg := fmt.Sprint(why...)
	if os.Getenv(env) != "" {
		t.Fatalf("%s (%s is set)", msg, env)
	}
	t.Skip(msg)
}
