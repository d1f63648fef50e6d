//go:build unix && !linux

package transport

import (
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// listenSocket creates the listening socket at path, whose directory is
// dir. In a directory others cannot enter, the socket is bound in place and
// then given mode 0600; elsewhere it is made in a private directory and
// renamed into place (listenRenamed).
func listenSocket(dir *os.File, path string) (*net.UnixListener, fs.FileInfo, error) {
	dfd := int(dir.Fd())
	var st unix.Stat_t
	if err := unix.Fstat(dfd, &st); err != nil {
		return nil, nil, os.NewSyscallError("fstat", err)
	}
	if int(st.Uid) != os.Geteuid() || st.Mode&0o077 != 0 {
		return listenRenamed(dir, path)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		if IsInUse(err) {
			return nil, nil, fmt.Errorf("%w: %s", ErrInUse, path)
		}
		return nil, nil, err
	}
	l.SetUnlinkOnClose(false)
	name := filepath.Base(path)
	fail := func(err error) (*net.UnixListener, fs.FileInfo, error) {
		l.Close()
		unix.Unlinkat(dfd, name, 0)
		return nil, nil, err
	}
	// No one else can enter the directory, so the name is the socket.
	if err := unix.Fchmodat(dfd, name, 0o600, 0); err != nil {
		return fail(os.NewSyscallError("fchmodat", err))
	}
	info, err := os.Lstat(path)
	if err != nil {
		return fail(err)
	}
	return l, info, nil
}
