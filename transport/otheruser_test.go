//go:build linux

package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/httpipc/httpipc/internal/otheruser"
)

// Environment of TestHelperDial, which the two-user tests run as the other
// user.
const (
	helperSocket = "HTTPIPC_TEST_DIAL_SOCKET" // the socket to dial
	helperLoop   = "HTTPIPC_TEST_DIAL_LOOP"   // "1": dial until standard input ends
)

// TestHelperDial is the other user's side: it dials a socket once, or again
// and again until its standard input ends, and prints "connected" for every
// connection it got and the last error.
func TestHelperDial(t *testing.T) {
	sock := os.Getenv(helperSocket)
	if sock == "" {
		t.Skip("helper for the two-user tests")
	}
	stop := make(chan struct{})
	if os.Getenv(helperLoop) == "1" {
		go func() {
			io.Copy(io.Discard, os.Stdin)
			close(stop)
		}()
	} else {
		close(stop)
	}
	var last error
	for {
		c, err := DialUnix(context.Background(), sock)
		if err == nil {
			fmt.Println("connected")
			c.Close()
		} else {
			last = err
		}
		select {
		case <-stop:
			fmt.Println("last error:", last)
			return
		default:
		}
	}
}

// dialAsOther runs the test binary as the other user with TestHelperDial.
func dialAsOther(exe string, env ...string) *exec.Cmd {
	cmd := otheruser.Command(exe, "-test.run", "^TestHelperDial$")
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// A socket ListenUnix made has mode 0600 at once, and the other user cannot
// connect to it, neither when it is done nor while listeners come and go
// (with no umask to help).
func TestOtherUserCannotConnect(t *testing.T) {
	otheruser.Require(t)
	exe := otheruser.Executable(t)
	dir := otheruser.Dir(t) // the other user may enter it
	sock := filepath.Join(dir, "p.sock")
	l, err := ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket right after ListenUnix: %v %v, want mode 0600", fi, err)
	}
	out, err := dialAsOther(exe, helperSocket+"="+sock).CombinedOutput()
	if err != nil || strings.Contains(string(out), "connected\n") || !strings.Contains(string(out), "permission denied") {
		t.Fatalf("the other user dialled the socket: %v\n%s", err, out)
	}
	l.Close()

	old := syscall.Umask(0)
	defer syscall.Umask(old)
	h := dialAsOther(exe, helperSocket+"="+sock, helperLoop+"=1")
	stdin, err := h.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := h.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	for range 300 {
		l, err := ListenUnix(sock)
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
	}
	stdin.Close()
	var lines []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := h.Wait(); err != nil {
		t.Fatalf("helper: %v: %q", err, lines)
	}
	for _, line := range lines {
		if line == "connected" {
			t.Fatalf("the other user connected while listeners were created: %q", lines)
		}
	}
}

// The fallback runtime directory, made first by the other user (or a
// symbolic link of theirs), is refused, and nothing is written into it.
func TestOtherUserFallbackDirRefused(t *testing.T) {
	otheruser.Require(t)
	shared := otheruser.SharedTmp(t)
	t.Setenv("TMPDIR", shared)
	dir := FallbackRuntimeDir()
	theirs := filepath.Join(shared, "theirs")
	for _, tt := range []struct {
		name  string
		setup [][]string // commands run as the other user
	}{
		{"owned by them", [][]string{{"mkdir", "-m", "0700", dir}}},
		{"mode 0777", [][]string{{"mkdir", "-m", "0777", dir}}},
		{"symlink", [][]string{{"mkdir", "-m", "0777", theirs}, {"ln", "-s", theirs, dir}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			os.RemoveAll(dir)
			os.RemoveAll(theirs)
			for _, c := range tt.setup {
				if out, err := otheruser.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
					t.Fatalf("%v: %v: %s", c, err, out)
				}
			}
			_, err := ListenUnix(filepath.Join(dir, "org.example.lms.sock"))
			if !errors.Is(err, ErrUnsafePath) || !strings.Contains(err.Error(), "XDG_RUNTIME_DIR") {
				t.Fatalf("ListenUnix: %v, want ErrUnsafePath naming the fix", err)
			}
			for _, d := range []string{dir, theirs} {
				if ents, err := os.ReadDir(d); err == nil && len(ents) != 0 {
					t.Fatalf("wrote %v into %s", ents, d)
				}
			}
		})
	}
}
