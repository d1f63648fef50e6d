//go:build !linux

package bench

import "errors"

func pinToOneCPU() (int, error) {
	return 0, errors.New("pin: binding to one CPU is implemented on Linux only")
}
