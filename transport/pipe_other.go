//go:build !windows

package transport

import (
	"context"
	"fmt"
	"net"
)

// ListenPipe listens on a Windows named pipe; elsewhere it fails with
// ErrUnsupported.
func ListenPipe(name string) (net.Listener, error) {
	return nil, fmt.Errorf("%w: pipe:%s exists only on Windows", ErrUnsupported, name)
}

// DialPipe connects to a Windows named pipe; elsewhere it fails with
// ErrUnsupported.
func DialPipe(ctx context.Context, name string) (net.Conn, error) {
	return nil, fmt.Errorf("%w: pipe:%s exists only on Windows", ErrUnsupported, name)
}
