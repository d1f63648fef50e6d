//go:build !linux

package peercred

import (
	"fmt"
	"net"
)

func loopback(local, remote *net.TCPAddr) (*Creds, error) {
	return nil, fmt.Errorf("%w: loopback TCP peers on this operating system", ErrNotSupported)
}
