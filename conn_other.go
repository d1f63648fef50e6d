//go:build !unix

package httpipc

import (
	"errors"
	"syscall"
)

// alive reports whether an idle connection may be reused. Without a
// non-blocking peek, a connection the provider closed is found out when the
// next request fails, and an idempotent request is then retried.
func (cc *clientConn) alive() bool {
	return cc.br.Buffered() == 0
}

// isReset reports whether err says the peer reset or closed the connection.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
