// Package transport listens on and dials the local endpoints httpipc runs
// over: Unix domain sockets (files and the Linux abstract namespace),
// inherited descriptors, and Windows named pipes.
//
// Socket files are created safely: the parent directory is made with mode
// 0700 when missing and refused when another user could place files in it
// (see OpenSocketDir); the socket is bound inside a new private directory,
// given mode 0600 there and only then renamed onto its path, so it is never
// reachable with wider permissions; a stale socket left by a provider that
// died is replaced, and a socket a running provider listens on is never
// deleted or replaced.
package transport

import "errors"

var (
	// ErrInUse means a running process already accepts connections at the
	// address.
	ErrInUse = errors.New("transport: address in use by a running process")
	// ErrUnsupported means the platform has no such endpoint.
	ErrUnsupported = errors.New("transport: not supported on this platform")
	// ErrUnsafePath means a directory or file that httpipc would create or
	// use could be controlled by another user (wrong owner, wrong mode, or
	// a symbolic link), so it was refused.
	ErrUnsafePath = errors.New("transport: path is not safe from other users")
)
