//go:build !linux

package bench

import "errors"

var errPinOS = errors.New("pin: binding to a CPU is implemented on Linux only")

func allowedCPUs() ([]int, error) { return nil, errPinOS }

func pinTo(int) error { return errPinOS }
