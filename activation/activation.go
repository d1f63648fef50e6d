package activation

import (
	"errors"
	"net"
	"os"

	"github.com/coreos/go-systemd/v22/activation"
)

// Errors returned by Launch.
var (
	// ErrNoExec means the entry does not say how to start the provider.
	ErrNoExec = errors.New("activation: service entry has no exec")
	// ErrUnsupported means this platform cannot start providers on demand.
	ErrUnsupported = errors.New("activation: not supported on this platform")
)

// LaunchedEnv is the environment variable, set to "1", that tells a
// provider an httpipc client started it: the provider then owns the socket
// file and removes it when it exits idle.
const LaunchedEnv = "HTTPIPC_LAUNCHED"

// Listeners returns the listening sockets passed by socket activation
// (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES) and unsets those variables, so
// they do not leak into child processes. It returns no listeners, and no
// error, when the process was not socket-activated.
func Listeners() ([]net.Listener, error) {
	lns, err := activation.Listeners()
	if err != nil {
		return nil, err
	}
	out := lns[:0]
	for _, l := range lns {
		if l != nil {
			out = append(out, l)
		}
	}
	return out, nil
}

// Launched reports whether an httpipc client started this process from a
// service-directory entry.
func Launched() bool {
	return os.Getenv(LaunchedEnv) == "1"
}
