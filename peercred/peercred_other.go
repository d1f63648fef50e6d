//go:build !unix && !windows

package peercred

import (
	"fmt"
	"net"
	"os"
)

// Self returns the credentials of the current process.
func Self() *Creds {
	return &Creds{PID: os.Getpid(), UID: os.Getuid(), GID: os.Getgid()}
}

func get(c net.Conn) (*Creds, error) {
	return nil, fmt.Errorf("%w on this operating system", ErrNotSupported)
}
