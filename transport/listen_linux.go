//go:build linux

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
// dir. Linux creates the socket file with the mode of the socket's inode
// less the umask, so the socket gets mode 0600 before bind and the file is
// never more open than that.
func listenSocket(dir *os.File, path string) (*net.UnixListener, fs.FileInfo, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, os.NewSyscallError("socket", err)
	}
	f := os.NewFile(uintptr(fd), "unix:"+path)
	defer f.Close()
	if err := unix.Fchmod(fd, 0o600); err != nil {
		return nil, nil, os.NewSyscallError("fchmod", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		if err == unix.EADDRINUSE {
			// Another provider created the socket since the probe.
			return nil, nil, fmt.Errorf("%w: %s", ErrInUse, path)
		}
		return nil, nil, os.NewSyscallError("bind", err)
	}
	dfd, name := int(dir.Fd()), filepath.Base(path)
	fail := func(err error) (*net.UnixListener, fs.FileInfo, error) {
		unix.Unlinkat(dfd, name, 0)
		return nil, nil, err
	}
	// Listen at once: between bind and listen the file exists but refuses
	// connections, which a client takes for a provider that is not running.
	if err := unix.Listen(fd, listenBacklog); err != nil {
		return fail(os.NewSyscallError("listen", err))
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fail(os.NewSyscallError("fstatat", err))
	}
	if st.Mode&0o7777 != 0o600 {
		// A umask took bits from the owner. Others cannot replace the file
		// in a directory OpenSocketDir accepted, so the name is the socket.
		if err := unix.Fchmodat(dfd, name, 0o600, 0); err != nil {
			return fail(os.NewSyscallError("fchmodat", err))
		}
	}
	ln, err := net.FileListener(f)
	if err != nil {
		return fail(err)
	}
	info, err := os.Lstat(path)
	if err != nil {
		ln.Close()
		return fail(err)
	}
	ul := ln.(*net.UnixListener)
	ul.SetUnlinkOnClose(false)
	return ul, info, nil
}

// listenBacklog is the listen backlog; the kernel caps it at
// net.core.somaxconn.
const listenBacklog = 4096
