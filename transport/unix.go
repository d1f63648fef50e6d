//go:build unix

package transport

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// UnixListener is a listener on a Unix socket that may own its socket file:
// an owned file is removed by Unlink and Close, but only while it is still
// the file this listener created.
type UnixListener struct {
	*net.UnixListener
	path  string
	owned bool
	info  fs.FileInfo

	mu       sync.Mutex
	unlinked bool
}

// ListenUnix listens on the Unix socket at path; a leading '@' names the
// Linux abstract namespace. The parent directory is opened with
// OpenSocketDir: created with mode 0700 when missing, refused (ErrUnsafePath)
// when another user could place files in it. A socket file already at path
// is probed: if a process accepts on it the error wraps ErrInUse; if not,
// the stale file is replaced. Anything at path that is not a socket is left
// alone and reported.
//
// The socket is never reachable with wider permissions than 0600, and no
// umask is involved (the umask is per process, not per thread). On Linux the
// socket gets mode 0600 before it is bound, and bind creates the file with
// that mode. Elsewhere a socket in a private directory (owned by this user,
// closed to others) is bound there and then given mode 0600; in any other
// directory it is bound inside a new private directory next to path, given
// mode 0600 there and renamed onto path without replacing anything that
// appeared there meanwhile (such a socket's own address, as getsockname
// reports it, is the temporary name; Addr reports path).
func ListenUnix(path string) (*UnixListener, error) {
	if len(path) > 0 && path[0] == '@' {
		return listenAbstract(path)
	}
	where := "unix:" + path
	dir, err := OpenSocketDir(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("transport: listen %s: %w", where, err)
	}
	defer dir.Close()
	if err := removeStale(int(dir.Fd()), path, filepath.Base(path)); err != nil {
		return nil, fmt.Errorf("transport: listen %s: %w", where, err)
	}
	l, info, err := listenSocket(dir, path)
	if err != nil {
		return nil, fmt.Errorf("transport: listen %s: %w", where, err)
	}
	return &UnixListener{UnixListener: l, path: path, owned: true, info: info}, nil
}

// OpenSocketDir opens the directory that holds socket files and the lock
// and log files of on-demand start, creating it (and missing parents) with
// mode 0700, and returns it for use with the *at system calls. It fails with
// an error wrapping ErrUnsafePath when another user could place or replace
// files in it: the directory must be owned by this process's effective user
// or by root, and not be writable by group or others unless it is sticky
// (as /tmp is). FallbackRuntimeDir, whose name anyone can predict, must be
// more: a directory, not a symbolic link, owned by this user, mode 0700.
func OpenSocketDir(dir string) (*os.File, error) {
	dir = filepath.Clean(dir)
	strict := dir == FallbackRuntimeDir()
	unsafe := func(format string, args ...any) error {
		fix := "use a directory only you can write to"
		if strict {
			fix = "remove it, or set XDG_RUNTIME_DIR to a private directory"
		}
		return fmt.Errorf("%w: %s %s; %s", ErrUnsafePath, dir, fmt.Sprintf(format, args...), fix)
	}
	created := false
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
			return nil, err
		}
		if err := os.Mkdir(dir, 0o700); err == nil {
			created = true
		} else if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		fi, err = os.Lstat(dir)
	}
	if err != nil {
		return nil, err
	}
	if strict && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, unsafe("is a symbolic link")
	}
	flags := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC
	if strict {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := unix.Open(dir, flags, 0)
	if err != nil {
		if err == unix.ELOOP || err == unix.ENOTDIR {
			return nil, unsafe("is not a directory")
		}
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	f := os.NewFile(uintptr(fd), dir)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, &fs.PathError{Op: "fstat", Path: dir, Err: err}
	}
	euid := os.Geteuid()
	if created && int(st.Uid) == euid && st.Mode&0o777 != 0o700 {
		// Made by this call, with bits the umask took away.
		if err := unix.Fchmod(fd, 0o700); err != nil {
			f.Close()
			return nil, &fs.PathError{Op: "chmod", Path: dir, Err: err}
		}
		st.Mode = st.Mode&^0o777 | 0o700
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		err = unsafe("is not a directory")
	case strict && int(st.Uid) != euid:
		err = unsafe("is owned by uid %d, not by uid %d", st.Uid, euid)
	case strict && st.Mode&0o777 != 0o700:
		err = unsafe("has mode %#o, not 0700", st.Mode&0o777)
	case int(st.Uid) != euid && st.Uid != 0:
		err = unsafe("is owned by uid %d", st.Uid)
	case st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0:
		err = unsafe("is writable by others (mode %#o)", st.Mode&0o777)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// NewUnixListener wraps a listener made elsewhere, such as one inherited by
// socket activation. owned says whether Unlink and Close remove its socket
// file.
func NewUnixListener(l *net.UnixListener, owned bool) *UnixListener {
	l.SetUnlinkOnClose(false)
	ul := &UnixListener{UnixListener: l}
	if a, ok := l.Addr().(*net.UnixAddr); ok && a.Name != "" && a.Name[0] != '@' {
		ul.path = a.Name
		if owned {
			if info, err := os.Lstat(a.Name); err == nil {
				ul.owned, ul.info = true, info
			}
		}
	}
	return ul
}

// Addr returns the address clients dial: the socket file's path, although
// the socket was bound under a temporary name.
func (l *UnixListener) Addr() net.Addr {
	if l.path != "" {
		return &net.UnixAddr{Name: l.path, Net: "unix"}
	}
	return l.UnixListener.Addr()
}

// Path returns the socket file's path, or "" for an abstract socket.
func (l *UnixListener) Path() string { return l.path }

// Unlink removes the socket file now, if this listener owns it and it is
// still the file the listener created, so new clients can no longer connect
// while connections already queued can still be accepted. It is idempotent.
func (l *UnixListener) Unlink() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.owned || l.unlinked {
		return nil
	}
	l.unlinked = true
	cur, err := os.Lstat(l.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	if !os.SameFile(cur, l.info) {
		return nil // a newer provider's socket
	}
	if err := os.Remove(l.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Close stops listening and removes an owned socket file.
func (l *UnixListener) Close() error {
	uerr := l.Unlink()
	if err := l.UnixListener.Close(); err != nil {
		return err
	}
	return uerr
}

// removeStale removes the socket file name, at path in the directory dfd,
// when nobody accepts on it.
func removeStale(dfd int, path, name string) error {
	var st unix.Stat_t
	err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == unix.ENOENT {
		return nil
	}
	if err != nil {
		return &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return fmt.Errorf("%s exists and is not a socket; not touching it", path)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, err := DialUnix(ctx, path)
	if err == nil {
		c.Close()
		return fmt.Errorf("%w: %s has a live provider", ErrInUse, path)
	}
	if !IsNotRunning(err) {
		return fmt.Errorf("probing existing socket: %w", err)
	}
	if err := unix.Unlinkat(dfd, name, 0); err != nil && err != unix.ENOENT {
		return fmt.Errorf("removing stale socket %s: %w", path, err)
	}
	return nil
}

// DialUnix connects to the Unix socket at path ('@' prefix: abstract).
func DialUnix(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", path)
}

// FileListener returns a listener for the inherited listening socket fd.
func FileListener(fd int) (net.Listener, error) {
	if fd < 0 || !isListening(fd) {
		return nil, fmt.Errorf("transport: fd:%d is not a listening socket", fd)
	}
	f := os.NewFile(uintptr(fd), fmt.Sprintf("fd:%d", fd))
	if f == nil {
		return nil, fmt.Errorf("transport: fd:%d is not a valid descriptor", fd)
	}
	defer f.Close()
	l, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("transport: fd:%d is not a listening socket: %w", fd, err)
	}
	if ul, ok := l.(*net.UnixListener); ok {
		return NewUnixListener(ul, false), nil
	}
	return l, nil
}

// FileConn returns a connection for the inherited connected socket fd.
func FileConn(fd int) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), fmt.Sprintf("fd:%d", fd))
	if f == nil {
		return nil, fmt.Errorf("transport: fd:%d is not a valid descriptor", fd)
	}
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("transport: fd:%d is not a connected socket: %w", fd, err)
	}
	return c, nil
}

// IsNotRunning reports whether a dial error means that nothing listens at
// the address, so that nothing was sent and the provider may be started.
func IsNotRunning(err error) bool {
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED)
}
