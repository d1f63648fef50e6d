// Package message carries HTTP over message channels: IPC mechanisms that
// move discrete messages of bounded size rather than byte streams, such as an
// Android bound service (Binder), an iOS XPC connection or a D-Bus method
// call.
//
// In message mode each request is one RFC 9292 Binary HTTP message and its
// response is one message back (docs/PROTOCOL.md, "Message mode"). The
// provider side is a Server whose ServeMessage turns request bytes into
// response bytes by running an ordinary http.Handler; the client side is a
// Transport, an http.RoundTripper over any Channel. A host app only has to
// move bytes: Go does the rest.
//
// Both sides enforce the channel's maximum message size before they allocate
// for a message: a request that does not fit fails on the client with
// ErrTooLarge, one that arrives anyway gets 413, and a response that does not
// fit becomes a 500 that says so.
package message

import (
	"context"
	"errors"
)

// Channel is a message channel to a provider: it delivers one request
// message and returns the provider's one response message.
type Channel interface {
	// Call sends req and returns the response. It must honour ctx.
	Call(ctx context.Context, req []byte) ([]byte, error)
	// MaxMessageSize is the largest message the channel carries, in bytes.
	MaxMessageSize() int
}

// DefaultMaxMessageSize is the message size limit when none is configured:
// a quarter of the 1 MiB Binder buffer that all transactions of an Android
// process share.
const DefaultMaxMessageSize = 256 << 10

// ErrTooLarge is wrapped by the error a Transport returns for a request that
// does not fit in one message.
var ErrTooLarge = errors.New("message: too large for one message")
