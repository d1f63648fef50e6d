// Package otheruser runs real processes as a second, unprivileged user
// (nobody, uid 65534) for the two-user security tests: the test process is
// the victim, the process started through Command is the attacker.
//
// Switching users needs root. Where the tests do not run as root, Require
// skips the test, unless HTTPIPC_REQUIRE_TWO_USERS is set (as .ci/run does),
// in which case it fails.
package otheruser

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// UID and GID are the attacker's identity: nobody and nogroup.
const (
	UID = 65534
	GID = 65534
)

// RequireEnv, when set to a non-empty value, turns a skip for want of root
// or setpriv into a failure.
const RequireEnv = "HTTPIPC_REQUIRE_TWO_USERS"

// Require skips (or, with RequireEnv set, fails) t unless this process can
// start processes as another user: it runs as root and setpriv is installed.
func Require(t testing.TB) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "two-user tests need root to switch to uid 65534"
	} else if _, err := exec.LookPath("setpriv"); err != nil {
		why = "two-user tests need setpriv (util-linux)"
	}
	if why == "" {
		return
	}
	if os.Getenv(RequireEnv) != "" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// Command returns a command that runs name with args as uid 65534, gid
// 65534 and no supplementary groups, through setpriv, with a minimal
// environment (PATH, HOME=/nonexistent). Require must have been called.
func Command(name string, args ...string) *exec.Cmd {
	return CommandContext(context.Background(), name, args...)
}

// CommandContext is Command with a context that kills the process when it
// ends.
func CommandContext(ctx context.Context, name string, args ...string) *exec.Cmd {
	a := append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", "--", name}, args...)
	cmd := exec.CommandContext(ctx, "setpriv", a...)
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/nonexistent"}
	return cmd
}

// Dir returns a new directory that the other user can read and enter (mode
// 0755, under a 0755 parent in the system temporary directory), removed at
// the end of the test. t.TempDir is 0700, closed to the other user.
func Dir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "httpipc-otheruser-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// Executable copies the running test binary into a Dir, so that the other
// user can run it (the build cache is closed to other users), and returns
// its path. A test re-runs itself this way as the attacker, with -test.run
// naming a helper test that acts on its environment.
func Executable(t testing.TB) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	path := filepath.Join(Dir(t), filepath.Base(self))
	dst, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// SharedTmp returns a new directory like /tmp (mode 1777, inside a Dir):
// both users may create entries in it, and neither may remove the other's.
func SharedTmp(t testing.TB) string {
	t.Helper()
	d := filepath.Join(Dir(t), "tmp")
	if err := os.Mkdir(d, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	return d
}
