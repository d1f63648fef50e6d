// Package httpipc serves a standard http.Handler over local IPC and calls it
// with a standard http.Client, so that two apps on one device can use each
// other's REST APIs with no network.
//
// The provider side is a [Server]: it takes any net.Listener (a Unix socket,
// a descriptor passed by systemd or by an httpipc client that started it on
// demand, a Windows named pipe), checks the OS identity of each caller
// against a [Policy] before any handler runs, and serves both the binary
// httpipc protocol (RFC 9292 messages on a stream, see docs/PROTOCOL.md) and
// plain HTTP/1.1 on the same socket, telling them apart by the first byte.
// It can exit on its own after a period without connections.
//
// The client side is a [Transport], an http.RoundTripper that sends every
// request to one ipc-service address (see package address for the grammar),
// keeps a pool of connections for concurrent requests, aborts calls whose
// context ends, reconnects to a provider that restarted, starts a provider
// on demand from its service-directory entry, and can require the provider to
// run as an expected user. [NewClient] wraps it in an *http.Client.
package httpipc
