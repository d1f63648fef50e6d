//go:build unix

package transport

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// listenRenamed creates the listening socket at path, whose directory is
// dir, by binding it in a new private directory next to path, giving it mode
// 0600 there and renaming it onto path, never over a file that appeared
// there since removeStale.
func listenRenamed(dir *os.File, path string) (*net.UnixListener, fs.FileInfo, error) {
	dfd := int(dir.Fd())
	name := filepath.Base(path)
	// A private directory next to path, so that the socket is reachable by
	// nobody until it has its final mode.
	var tmp string
	var err error
	for range 10 {
		tmp = fmt.Sprintf(".s%08x", rand.Uint32())
		if err = unix.Mkdirat(dfd, tmp, 0o700); err != unix.EEXIST {
			break
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("private directory for the socket: %w", err)
	}
	defer unix.Unlinkat(dfd, tmp, unix.AT_REMOVEDIR)
	tfd, err := unix.Openat(dfd, tmp, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("private directory for the socket: %w", err)
	}
	defer unix.Close(tfd)
	// The umask may have removed bits the owner needs; no one else can
	// enter the directory either way.
	if err := unix.Fchmod(tfd, 0o700); err != nil {
		return nil, nil, fmt.Errorf("private directory for the socket: %w", err)
	}
	const sock = "s"
	bindPath := filepath.Join(filepath.Dir(path), tmp, sock)
	if len(bindPath) >= len(unix.RawSockaddrUnix{}.Path) {
		return nil, nil, fmt.Errorf("the temporary socket path %s is too long for a Unix socket", bindPath)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: bindPath, Net: "unix"})
	if err != nil {
		return nil, nil, err
	}
	l.SetUnlinkOnClose(false)
	fail := func(err error) (*net.UnixListener, fs.FileInfo, error) {
		l.Close()
		unix.Unlinkat(tfd, sock, 0)
		return nil, nil, err
	}
	// Inside the private directory only this process can have put the
	// socket, so the name cannot be a symbolic link.
	if err := unix.Fchmodat(tfd, sock, 0o600, 0); err != nil {
		return fail(fmt.Errorf("chmod: %w", err))
	}
	info, err := os.Lstat(filepath.Join(filepath.Dir(path), tmp, sock))
	if err != nil {
		return fail(err)
	}
	for attempt := 0; ; attempt++ {
		err = moveNoReplace(tfd, sock, dfd, name)
		if err != unix.EEXIST || attempt == 2 {
			break
		}
		// Another provider created the socket since the probe.
		if err := removeStale(dfd, path, name); err != nil {
			return fail(err)
		}
	}
	if err != nil {
		return fail(fmt.Errorf("moving the socket into place: %w", err))
	}
	return l, info, nil
}

// linkMove moves a file without replacing one at to: a hard link, which
// fails with EEXIST when to exists, then removal of the old name.
func linkMove(fromDir int, from string, toDir int, to string) error {
	if err := unix.Linkat(fromDir, from, toDir, to, 0); err != nil {
		return err
	}
	return unix.Unlinkat(fromDir, from, 0)
}
