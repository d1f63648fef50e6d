//go:build unix

package transport

import (
	"errors"
	"syscall"
)

// IsInUse reports whether a listen error means the address is taken.
func IsInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }
