//go:build !linux

package loopback

import (
	"fmt"
	"net"

	"github.com/httpipc/httpipc/peercred"
)

func peer(local, remote *net.TCPAddr) (*peercred.Creds, error) {
	return nil, fmt.Errorf("%w: loopback TCP peers on this operating system", peercred.ErrNotSupported)
}
