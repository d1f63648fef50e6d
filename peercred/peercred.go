// Package peercred tells who is at the other end of a local connection: the
// process id and the user and group ids (the user SID on Windows) that the
// operating system records for the peer of a Unix socket or named pipe.
//
// The credentials come from the kernel, not from the peer, so a process
// cannot lie about them: SO_PEERCRED on Linux, LOCAL_PEERCRED and
// LOCAL_PEERPID on macOS, and the client process id and its token's user on
// Windows named pipes.
//
// Loopback TCP carries no credentials: Get returns ErrNotSupported for it.
package peercred

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// Creds is the OS identity of the process at the other end of a local
// connection.
type Creds struct {
	PID int    // process id, -1 when unknown
	UID int    // user id, -1 when unknown (always on Windows)
	GID int    // primary group id, -1 when unknown
	SID string // Windows user SID; empty elsewhere
}

// ErrNotSupported is returned for connections whose peer the platform cannot
// identify, such as TCP connections.
var ErrNotSupported = errors.New("peercred: not supported for this connection")

// Conn is implemented by connections that know their peer without asking
// the kernel, such as streams carried over a message channel whose host
// learned the peer's identity from Binder, XPC or D-Bus.
type Conn interface {
	net.Conn
	PeerCreds() (*Creds, error)
}

// Get returns the credentials of the peer of c.
func Get(c net.Conn) (*Creds, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: nil connection", ErrNotSupported)
	}
	if pc, ok := c.(Conn); ok {
		return pc.PeerCreds()
	}
	return get(c)
}

// String formats the known parts, e.g. "uid=1000 gid=1000 pid=4242".
func (c *Creds) String() string {
	if c == nil {
		return "unknown"
	}
	var parts []string
	if c.SID != "" {
		parts = append(parts, "sid="+c.SID)
	}
	if c.UID >= 0 {
		parts = append(parts, fmt.Sprintf("uid=%d", c.UID))
	}
	if c.GID >= 0 {
		parts = append(parts, fmt.Sprintf("gid=%d", c.GID))
	}
	if c.PID >= 0 {
		parts = append(parts, fmt.Sprintf("pid=%d", c.PID))
	}
	if len(parts) == 0 {
		return "unknown"
	}
	return strings.Join(parts, " ")
}
