//go:build linux

package transport

import "golang.org/x/sys/unix"

// isListening reports whether fd is a listening socket.
func isListening(fd int) bool {
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	return err == nil && v != 0
}
