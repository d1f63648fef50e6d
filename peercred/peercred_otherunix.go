//go:build unix && !linux && !darwin

package peercred

import "fmt"

func fromFD(int) (*Creds, error) {
	return nil, fmt.Errorf("%w on this operating system", ErrNotSupported)
}
