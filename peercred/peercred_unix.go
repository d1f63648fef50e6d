//go:build unix

package peercred

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// Self returns the credentials of the current process.
func Self() *Creds {
	return &Creds{PID: os.Getpid(), UID: os.Getuid(), GID: os.Getgid()}
}

func get(c net.Conn) (*Creds, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		if sc, isSys := c.(syscall.Conn); isSys && isUnixConn(c) {
			return fromSyscallConn(sc)
		}
		return nil, fmt.Errorf("%w: %T", ErrNotSupported, c)
	}
	return fromSyscallConn(uc)
}

// isUnixConn reports whether a wrapped connection is a Unix socket.
func isUnixConn(c net.Conn) bool {
	_, ok := c.LocalAddr().(*net.UnixAddr)
	return ok
}

func fromSyscallConn(sc syscall.Conn) (*Creds, error) {
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("peercred: %w", err)
	}
	var creds *Creds
	var cerr error
	if err := rc.Control(func(fd uintptr) { creds, cerr = fromFD(int(fd)) }); err != nil {
		return nil, fmt.Errorf("peercred: %w", err)
	}
	if cerr != nil {
		return nil, fmt.Errorf("peercred: %w", cerr)
	}
	return creds, nil
}
