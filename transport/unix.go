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
// Linux abstract namespace. A missing parent directory is created with mode
// 0700. A socket file already at path is probed: if a process accepts on it
// the error wraps ErrInUse; if not, the stale file is replaced. Anything at
// path that is not a socket is left alone and reported. The socket file gets
// mode 0600.
func ListenUnix(path string) (*UnixListener, error) {
	if len(path) > 0 && path[0] == '@' {
		return listenAbstract(path)
	}
	where := "unix:" + path
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("transport: listen %s: parent directory: %w", where, err)
	}
	if err := removeStale(path); err != nil {
		return nil, fmt.Errorf("transport: listen %s: %w", where, err)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("transport: listen %s: %w", where, err)
	}
	l.SetUnlinkOnClose(false)
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		os.Remove(path)
		return nil, fmt.Errorf("transport: listen %s: %w", where, err)
	}
	info, err := os.Lstat(path)
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("transport: listen %s: %w", where, err)
	}
	return &UnixListener{UnixListener: l, path: path, owned: true, info: info}, nil
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

// removeStale removes a socket file nobody accepts on.
func removeStale(path string) error {
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if info.Mode()&fs.ModeSocket == 0 {
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
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing stale socket: %w", err)
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
