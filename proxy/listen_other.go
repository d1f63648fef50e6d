//go:build !unix

package proxy

import "net"

// listenUnix listens on a Unix socket where file modes do not guard it
// (Windows): the proxy requires a secret on such a listener (peerKnown).
func listenUnix(path string) (net.Listener, error) {
	return net.Listen("unix", path)
}
