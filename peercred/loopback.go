package peercred

import (
	"errors"
	"fmt"
	"net"
)

// ErrNotLoopback is returned by Loopback for a connection that is not a
// TCP connection between two loopback addresses.
var ErrNotLoopback = errors.New("peercred: not a loopback TCP connection")

// Loopback returns the owner of the other end of a loopback TCP connection
// accepted or dialled by this process. Only the user id is known (PID and
// GID are -1): on Linux the kernel reports the owner of the peer's socket
// (sock_diag); elsewhere it returns ErrNotSupported.
//
// Loopback TCP carries no credentials of its own, so unlike Get this asks
// the kernel about the socket with the connection's addresses swapped. The
// peer must still hold its socket open.
func Loopback(c net.Conn) (*Creds, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: nil connection", ErrNotLoopback)
	}
	local, ok1 := c.LocalAddr().(*net.TCPAddr)
	remote, ok2 := c.RemoteAddr().(*net.TCPAddr)
	if !ok1 || !ok2 || !local.IP.IsLoopback() || !remote.IP.IsLoopback() {
		return nil, fmt.Errorf("%w: %s to %s", ErrNotLoopback, c.LocalAddr(), c.RemoteAddr())
	}
	return loopback(local, remote)
}
