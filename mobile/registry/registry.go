// Package registry is where the Go part of a provider app registers its
// http.Handler, under a service name, for the mobile bridge to serve. It is
// separate from package mobile because an http.Handler cannot cross the
// gobind boundary: the app's Go code registers in an init function, and the
// host code (Kotlin, Swift) asks package mobile for a provider by name.
package registry

import (
	"fmt"
	"net/http"
	"sync"
)

// The registry is process-wide by nature, like database/sql drivers: the
// Go and host halves of an app meet here.
var (
	mu       sync.RWMutex
	handlers = map[string]http.Handler{}
)

// Register makes h available as service name. Registering a name twice
// panics, as it is a programming error.
func Register(name string, h http.Handler) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := handlers[name]; dup {
		panic(fmt.Sprintf("registry: service %q registered twice", name))
	}
	handlers[name] = h
}

// Lookup returns the handler registered as name.
func Lookup(name string) (http.Handler, bool) {
	mu.RLock()
	defer mu.RUnlock()
	h, ok := handlers[name]
	return h, ok
}
