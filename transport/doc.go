// Package transport listens on and dials the local endpoints httpipc runs
// over: Unix domain sockets (files and the Linux abstract namespace),
// inherited descriptors, and Windows named pipes.
//
// Socket files are created safely: the parent directory is made with mode
// 0700 when missing, the socket gets mode 0600, a stale socket left by a
// provider that died is replaced, and a socket a running provider listens on
// is never deleted from under it.
package transport

import "errors"

var (
	// ErrInUse means a running process already accepts connections at the
	// address.
	ErrInUse = errors.New("transport: address in use by a running process")
	// ErrUnsupported means the platform has no such endpoint.
	ErrUnsupported = errors.New("transport: not supported on this platform")
)
