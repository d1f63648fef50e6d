//go:build windows

package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// ListenPipe listens on the named pipe \\.\pipe\NAME. Only the current user
// (and SYSTEM) may connect.
func ListenPipe(name string) (net.Listener, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("transport: listen pipe:%s: current user: %w", name, err)
	}
	sddl := "D:P(A;;GA;;;" + u.User.Sid.String() + ")(A;;GA;;;SY)"
	l, err := winio.ListenPipe(`\\.\pipe\`+name, &winio.PipeConfig{SecurityDescriptor: sddl})
	if err != nil {
		return nil, fmt.Errorf("transport: listen pipe:%s: %w", name, err)
	}
	return l, nil
}

// DialPipe connects to the named pipe \\.\pipe\NAME.
func DialPipe(ctx context.Context, name string) (net.Conn, error) {
	return winio.DialPipeContext(ctx, `\\.\pipe\`+name)
}

// ListenUnix is not provided on Windows; use named pipes.
func ListenUnix(path string) (*UnixListener, error) {
	return nil, fmt.Errorf("%w: unix:%s (use a pipe: address on Windows)", ErrUnsupported, path)
}

// DialUnix is not provided on Windows; use named pipes.
func DialUnix(ctx context.Context, path string) (net.Conn, error) {
	return nil, fmt.Errorf("%w: unix:%s (use a pipe: address on Windows)", ErrUnsupported, path)
}

// UnixListener exists on Windows only so that code compiles everywhere.
type UnixListener struct{ net.Listener }

// NewUnixListener wraps l.
func NewUnixListener(l *net.UnixListener, owned bool) *UnixListener { return &UnixListener{l} }

// Unlink does nothing on Windows.
func (l *UnixListener) Unlink() error { return nil }

// FileListener is not provided on Windows.
func FileListener(fd int) (net.Listener, error) {
	return nil, fmt.Errorf("%w: fd:%d", ErrUnsupported, fd)
}

// FileConn is not provided on Windows.
func FileConn(fd int) (net.Conn, error) {
	return nil, fmt.Errorf("%w: fd:%d", ErrUnsupported, fd)
}

// IsNotRunning reports whether a dial error means that nothing listens at
// the address.
func IsNotRunning(err error) bool {
	return errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, syscall.ENOENT)
}
