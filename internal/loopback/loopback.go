// Package loopback tells which user owns the other end of a loopback TCP
// connection, for the local HTTP servers of this module (the localhost proxy
// and the desktop login's redirect listener) that must admit only their own
// user.
//
// Loopback TCP carries no credentials of its own, so Peer asks the kernel
// about the peer's socket: on Linux through sock_diag, using the netlink
// library. That library is the reason this lookup is a package of its own,
// imported only by the packages that need it (proxy and oauth/authclient),
// not part of peercred: the root package and mobile stay free of it.
package loopback

import (
	"errors"
	"fmt"
	"net"

	"github.com/httpipc/httpipc/peercred"
)

// ErrNotLoopback is returned by Peer for a connection that is not a TCP
// connection between two loopback addresses.
var ErrNotLoopback = errors.New("loopback: not a loopback TCP connection")

// Peer returns the owner of the other end of a loopback TCP connection
// accepted or dialled by this process. Only the user id is known (PID and
// GID are -1): on Linux the kernel reports the owner of the peer's socket
// (sock_diag). On Android, whose app sandbox forbids the lookup, it returns
// an error that is not peercred.ErrNotSupported, since there every app is a
// user of its own and a caller must not admit a peer it cannot identify;
// elsewhere (macOS, Windows, ...) it returns peercred.ErrNotSupported.
//
// The peer must still hold its socket open.
func Peer(c net.Conn) (*peercred.Creds, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: nil connection", ErrNotLoopback)
	}
	local, ok1 := c.LocalAddr().(*net.TCPAddr)
	remote, ok2 := c.RemoteAddr().(*net.TCPAddr)
	if !ok1 || !ok2 || !local.IP.IsLoopback() || !remote.IP.IsLoopback() {
		return nil, fmt.Errorf("%w: %s to %s", ErrNotLoopback, c.LocalAddr(), c.RemoteAddr())
	}
	return peer(local, remote)
}
