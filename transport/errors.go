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
