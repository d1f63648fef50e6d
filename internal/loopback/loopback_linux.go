//go:build linux && !android

package loopback

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink"

	"github.com/httpipc/httpipc/peercred"
)

const tcpEstablished = 1 // TCP_ESTABLISHED in the kernel's tcp_states.h

// peer asks sock_diag (through the netlink library, which builds and parses
// the inet_diag messages) for the socket whose local address is the peer's
// end of the connection: the connection's addresses swapped.
func peer(local, remote *net.TCPAddr) (*peercred.Creds, error) {
	s, err := netlink.SocketGet(remote, local)
	if err != nil {
		return nil, fmt.Errorf("loopback: the owner of %s: %w", remote, err)
	}
	// A socket that is closing (FIN_WAIT, TIME_WAIT) may report uid 0.
	if s.State != tcpEstablished {
		return nil, fmt.Errorf("loopback: the peer %s is closing (TCP state %d)", remote, s.State)
	}
	return &peercred.Creds{PID: -1, UID: int(s.UID), GID: -1}, nil
}
