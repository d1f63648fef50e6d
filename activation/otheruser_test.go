//go:build linux

package activation

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/httpipc/httpipc/address"
	"github.com/httpipc/httpipc/internal/otheruser"
	"github.com/httpipc/httpipc/servicedir"
	"github.com/httpipc/httpipc/transport"
)

// runAsOther runs a command as the other user.
func runAsOther(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := otheruser.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v as the other user: %v: %s", name, args, err, out)
	}
}

// Without XDG_RUNTIME_DIR, a fallback directory the other user made first
// (or a symbolic link of theirs) makes Launch refuse, writing nothing.
func TestOtherUserLaunchFallbackDirRefused(t *testing.T) {
	otheruser.Require(t)
	shared := otheruser.SharedTmp(t)
	t.Setenv("TMPDIR", shared)
	t.Setenv("XDG_RUNTIME_DIR", "")
	dir := transport.FallbackRuntimeDir()
	theirs := filepath.Join(shared, "theirs")
	for _, tt := range []struct {
		name  string
		setup [][]string
	}{
		{"owned by them", [][]string{{"mkdir", "-m", "0700", dir}}},
		{"mode 0777", [][]string{{"mkdir", "-m", "0777", dir}}},
		{"symlink", [][]string{{"mkdir", "-m", "0777", theirs}, {"ln", "-s", theirs, dir}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			os.RemoveAll(dir)
			os.RemoveAll(theirs)
			for _, c := range tt.setup {
				runAsOther(t, c[0], c[1:]...)
			}
			for _, sock := range []address.Address{
				servicedir.DefaultSocket("org.example.lms", nil),
				{Kind: address.Abstract, Path: "httpipc-test-" + filepath.Base(shared)},
			} {
				e := &servicedir.Entry{Name: "org.example.lms", Socket: sock, Exec: []string{"/bin/true"}}
				err := Launch(context.Background(), e)
				if !errors.Is(err, transport.ErrUnsafePath) || !strings.Contains(err.Error(), "XDG_RUNTIME_DIR") {
					t.Fatalf("Launch %s: %v, want ErrUnsafePath naming the fix", sock, err)
				}
			}
			for _, d := range []string{dir, theirs} {
				if ents, err := os.ReadDir(d); err == nil && len(ents) != 0 {
					t.Fatalf("wrote %v into %s", ents, d)
				}
			}
		})
	}
}

// A symbolic link planted at SOCKET.lock or SOCKET.log, to a file of the
// other user, makes Launch refuse; the file is untouched.
func TestOtherUserLaunchSymlinkRefused(t *testing.T) {
	otheruser.Require(t)
	theirs := filepath.Join(otheruser.Dir(t), "theirs")
	if err := os.Mkdir(theirs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(theirs, otheruser.UID, otheruser.GID); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(theirs, "target")
	runAsOther(t, "sh", "-c", `printf 'theirs' > "$0" && chmod 0666 "$0"`, target)
	for _, suffix := range []string{".lock", ".log"} {
		t.Run(suffix, func(t *testing.T) {
			sock := filepath.Join(t.TempDir(), "p.sock")
			if err := os.Symlink(target, sock+suffix); err != nil {
				t.Fatal(err)
			}
			e := &servicedir.Entry{Name: "org.example.lms", Socket: address.Address{Kind: address.Unix, Path: sock}, Exec: []string{"/bin/sh", "-c", "echo started"}}
			err := Launch(context.Background(), e)
			if !errors.Is(err, transport.ErrUnsafePath) || !strings.Contains(err.Error(), "symbolic link") {
				t.Fatalf("Launch: %v, want ErrUnsafePath for the symbolic link", err)
			}
			t.Log(err)
			if b, err := os.ReadFile(target); err != nil || string(b) != "theirs" {
				t.Fatalf("target file now %q %v", b, err)
			}
			if fi, err := os.Stat(target); err != nil || fi.Mode().Perm() != 0o666 {
				t.Fatalf("target file mode changed: %v %v", fi, err)
			}
			if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("refused Launch left the socket: %v", err)
			}
		})
	}
}
