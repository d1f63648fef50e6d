//go:build linux

package transport

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// The path other platforms take for a socket in a directory others may
// enter, exercised here.
func TestListenRenamed(t *testing.T) {
	dirPath := t.TempDir()
	if err := os.Chmod(dirPath, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dirPath, "p.sock")
	dir, err := OpenSocketDir(dirPath)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	l, info, err := listenRenamed(dir, sock)
	if err != nil {
		t.Fatal(err)
	}
	ul := &UnixListener{UnixListener: l, path: sock, owned: true, info: info}
	if fi, err := os.Lstat(sock); err != nil || fi.Mode().Perm() != 0o600 || !os.SameFile(fi, info) {
		t.Fatalf("socket %v %v, want the listener's file with mode 0600", fi, err)
	}
	if got := ul.Addr().String(); got != sock {
		t.Fatalf("Addr %q, want %q", got, sock)
	}
	c, err := DialUnix(context.Background(), sock)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	// A live socket is never replaced, and no temporary directory stays.
	if _, _, err := listenRenamed(dir, sock); !errors.Is(err, ErrInUse) {
		t.Fatalf("second listener: %v, want ErrInUse", err)
	}
	ents, _ := os.ReadDir(dirPath)
	if len(ents) != 1 {
		t.Fatalf("directory holds %v, want only the socket", ents)
	}
	if err := ul.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(sock); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Close left the socket: %v", err)
	}
}

// The mode holds whatever the umask is.
func TestListenUnixModeWithoutUmask(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	sock := filepath.Join(t.TempDir(), "run", "p.sock")
	l, err := ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for path, want := range map[string]fs.FileMode{filepath.Dir(sock): 0o700, sock: 0o600} {
		if fi, err := os.Lstat(path); err != nil || fi.Mode().Perm() != want {
			t.Fatalf("%s: %v %v, want mode %v", path, fi, err, want)
		}
	}
}

func TestFallbackRuntimeDirRules(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dir := FallbackRuntimeDir()
	if filepath.Dir(dir) != tmp {
		t.Fatalf("FallbackRuntimeDir %s, not in TMPDIR %s", dir, tmp)
	}
	sock := filepath.Join(dir, "org.example.lms.sock")

	// Missing: created private.
	l, err := ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if fi, err := os.Lstat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("%s: %v %v, want mode 0700", dir, fi, err)
	}

	// Too open: refused, even though this user owns it.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := ListenUnix(sock); !errors.Is(err, ErrUnsafePath) {
		t.Fatalf("mode 0755: %v, want ErrUnsafePath", err)
	}

	// A symbolic link, even to a private directory of this user: refused.
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	real := t.TempDir()
	if err := os.Symlink(real, dir); err != nil {
		t.Fatal(err)
	}
	_, err = ListenUnix(sock)
	if !errors.Is(err, ErrUnsafePath) {
		t.Fatalf("symlink: %v, want ErrUnsafePath", err)
	}
	t.Log(err)
	if ents, _ := os.ReadDir(real); len(ents) != 0 {
		t.Fatalf("wrote %v through the symlink", ents)
	}
}

func TestOpenSocketDirRefusesWritableDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := ListenUnix(filepath.Join(dir, "p.sock")); !errors.Is(err, ErrUnsafePath) {
		t.Fatalf("mode 0777: %v, want ErrUnsafePath", err)
	}
	// Sticky, as /tmp is: others cannot replace this user's files.
	if err := os.Chmod(dir, 0o777|fs.ModeSticky); err != nil {
		t.Fatal(err)
	}
	l, err := ListenUnix(filepath.Join(dir, "p.sock"))
	if err != nil {
		t.Fatalf("sticky directory: %v", err)
	}
	l.Close()
}
