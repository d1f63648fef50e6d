//go:build linux

package transport

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestListenUnixFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run", "httpipc")
	sock := filepath.Join(dir, "p.sock")
	l, err := ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]fs.FileMode{dir: 0o700, sock: 0o600} {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != want {
			t.Fatalf("%s: %v %v, want mode %v", path, fi, err, want)
		}
	}
	// A live socket is never taken over.
	if _, err := ListenUnix(sock); !errors.Is(err, ErrInUse) {
		t.Fatalf("second listener: %v, want ErrInUse", err)
	}
	c, err := DialUnix(context.Background(), sock)
	if err != nil {
		t.Fatalf("the live socket stopped working: %v", err)
	}
	c.Close()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(sock); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Close left the socket file: %v", err)
	}
}

func TestStaleSocketReplaced(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "p.sock")
	old, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	old.SetUnlinkOnClose(false)
	old.Close() // the file stays: a provider that died
	l, err := ListenUnix(sock)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	l.Close()
}

func TestNotASocketUntouched(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(path, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ListenUnix(path); err == nil {
		t.Fatal("listened over a regular file")
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "keep me" {
		t.Fatalf("regular file changed: %q %v", b, err)
	}
}

func TestCloseKeepsNewerSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "p.sock")
	first, err := ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	// Someone removes the file and a newer provider takes the path.
	os.Remove(sock)
	second, err := ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	first.Close()
	if _, err := os.Lstat(sock); err != nil {
		t.Fatalf("closing the old listener removed the newer socket: %v", err)
	}
}

func TestUnlinkKeepsQueuedConnections(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "p.sock")
	l, err := ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	queued, err := DialUnix(context.Background(), sock)
	if err != nil {
		t.Fatal(err)
	}
	defer queued.Close()
	if err := l.Unlink(); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlink(); err != nil {
		t.Fatalf("second Unlink: %v", err)
	}
	c, err := l.Accept()
	if err != nil {
		t.Fatalf("queued connection lost: %v", err)
	}
	c.Close()
	if _, err := DialUnix(context.Background(), sock); !IsNotRunning(err) {
		t.Fatalf("dial after Unlink: %v, want a not-running error", err)
	}
}

func TestAbstract(t *testing.T) {
	name := "@httpipc-test-" + filepath.Base(t.TempDir())
	l, err := ListenUnix(name)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := ListenUnix(name); !errors.Is(err, ErrInUse) {
		t.Fatalf("second abstract listener: %v", err)
	}
	c, err := DialUnix(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

func TestDescriptors(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	c, err := FileConn(fds[0])
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := FileListener(fds[1]); err == nil {
		t.Fatal("a connected socket accepted as a listener")
	}
	lfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(lfd, &unix.SockaddrUnix{Name: filepath.Join(t.TempDir(), "l.sock")}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(lfd, 8); err != nil {
		t.Fatal(err)
	}
	l, err := FileListener(lfd)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := FileConn(9999); err == nil {
		t.Fatal("a closed descriptor accepted")
	}
}

func TestIsNotRunning(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "dial", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ENOENT}}, true},
		{&net.OpError{Op: "dial", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}, true},
		{&net.OpError{Op: "dial", Err: &os.SyscallError{Syscall: "connect", Err: syscall.EACCES}}, false},
		{errors.New("other"), false},
	}
	for _, tt := range tests {
		if got := IsNotRunning(tt.err); got != tt.want {
			t.Errorf("IsNotRunning(%v) = %v", tt.err, got)
		}
	}
}
