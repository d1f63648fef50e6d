//go:build linux

package transport

import (
	"fmt"
	"net"
)

func listenAbstract(path string) (*UnixListener, error) {
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		if IsInUse(err) {
			return nil, fmt.Errorf("%w: unix:%s", ErrInUse, path)
		}
		return nil, fmt.Errorf("transport: listen unix:%s: %w", path, err)
	}
	return &UnixListener{UnixListener: l}, nil
}
