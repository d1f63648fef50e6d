//go:build unix

package httpipc

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// alive reports whether an idle connection is still open and has nothing
// unexpected to read, without blocking: a provider that exited or closed the
// connection leaves an end of file to peek at.
func (cc *clientConn) alive() bool {
	if cc.br.Buffered() > 0 {
		return false
	}
	sc, ok := cc.nc.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := true
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, err := unix.Recvfrom(int(fd), buf[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		switch {
		case err == unix.EAGAIN || err == unix.EINTR:
		case err != nil, n == 0, n > 0:
			alive = false
		}
		return true
	})
	return alive && err == nil
}

// isReset reports whether err says the peer reset or closed the connection.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
