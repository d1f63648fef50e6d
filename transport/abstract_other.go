//go:build unix && !linux

package transport

import "fmt"

func listenAbstract(path string) (*UnixListener, error) {
	return nil, fmt.Errorf("%w: abstract socket unix:%s exists only on Linux", ErrUnsupported, path)
}
