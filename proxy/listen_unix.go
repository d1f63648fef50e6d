//go:build unix

package proxy

import (
	"net"

	"github.com/httpipc/httpipc/transport"
)

// listenUnix creates the socket the way providers' sockets are created:
// mode 0600, and a stale socket file nobody accepts on is replaced.
func listenUnix(path string) (net.Listener, error) {
	return transport.ListenUnix(path)
}
