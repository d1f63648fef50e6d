package httpipc

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"

	"github.com/httpipc/httpipc/servicedir"
)

// Errors a Transport returns. Each is wrapped with details.
var (
	// ErrRefused means the provider refused the connection (its policy does
	// not allow this process, or it does not speak a common protocol
	// version).
	ErrRefused = errors.New("httpipc: connection refused by provider")
	// ErrProviderIdentity means the process serving the socket is not the
	// provider the client expects.
	ErrProviderIdentity = errors.New("httpipc: provider identity check failed")
	// ErrProtocol means the provider sent something that is not the httpipc
	// protocol.
	ErrProtocol = errors.New("httpipc: protocol error")
	// ErrNoResponse means the connection ended after the request was sent,
	// in part or whole, and before any byte of the response arrived: the
	// provider may or may not have acted on the request. The Transport
	// sends such a request again, once and on a new connection, only when
	// that is safe (docs/PROTOCOL.md, section 7): the connection was reused
	// from the pool, and the request is idempotent or carries an
	// Idempotency-Key or X-Idempotency-Key field. Otherwise, and when the
	// second attempt fails the same way, the caller gets this error.
	ErrNoResponse = errors.New("httpipc: connection closed before any response")
)

// Transport is an http.RoundTripper that sends every request to one
// ipc-service. The zero value needs only Service. A Transport keeps idle
// connections for reuse and is safe for concurrent use.
type Transport struct {
	// Service is the ipc-service address: "unix:/path.sock", "unix:@name",
	// "fd:N", "pipe:NAME" or a service name such as "org.example.lms" that is
	// looked up in the service directory. The host of a request URL is sent
	// to the provider as the authority but does not select the connection.
	Service string

	// Provider decides whether the process serving the socket is the
	// expected provider, checked on every new connection. Nil means
	// SameUserOrRoot, or AllowUIDs of the entry's uid when a service-directory
	// entry names one.
	Provider Policy

	// Directory resolves service names. The zero value uses the process
	// environment.
	Directory servicedir.Directory

	// DisableStart stops the Transport from starting a provider on demand
	// from its service-directory entry when nothing listens on its socket.
	DisableStart bool

	// DialContext, if set, replaces the dialing of Service; the provider
	// identity check still applies.
	DialContext func(ctx context.Context) (net.Conn, error)

	// MaxIdleConns bounds the idle connections kept for reuse. Zero means
	// 16; negative disables reuse.
	MaxIdleConns int

	// IdleConnTimeout is how long an idle connection is kept. Zero means 90
	// seconds.
	IdleConnTimeout time.Duration

	// MaxResponseHeaderBytes bounds each field section of a response. Zero
	// means 64 KiB.
	MaxResponseHeaderBytes int

	// Logger receives connection-level events. Nil means slog.Default().
	Logger *slog.Logger

	mu      sync.Mutex
	idle    []*clientConn
	dialer  *dialer
	dialErr error
	once    sync.Once
}

// NewClient returns an *http.Client whose requests go to service over IPC.
func NewClient(service string) *http.Client {
	return &http.Client{Transport: &Transport{Service: service}}
}

// RoundTrip sends one request and returns its response. The response body
// streams from the provider; closing it before the end aborts the call on
// the provider side as well, as does cancelling the request context.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		closeBody(req)
		return nil, errors.New("httpipc: nil Request.URL")
	}
	if req.Header == nil {
		closeBody(req)
		return nil, errors.New("httpipc: nil Request.Header")
	}
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		cc, err := t.getConn(ctx)
		if err != nil {
			closeBody(req)
			return nil, err
		}
		resp, err := cc.roundTrip(req)
		if err == nil {
			return resp, nil
		}
		if attempt == 0 && cc.reused && canRetry(req, err) {
			if req, err = rewind(req); err == nil {
				t.logger().Debug("httpipc: retrying on a new connection", "service", t.Service)
				continue
			}
		}
		closeBody(req)
		return nil, err
	}
}

// CloseIdleConnections closes connections kept for reuse.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, cc := range idle {
		cc.nc.Close()
	}
}

func (t *Transport) logger() *slog.Logger {
	if t.Logger != nil {
		return t.Logger
	}
	return slog.Default()
}

// getConn returns an idle connection or dials a new one.
func (t *Transport) getConn(ctx context.Context) (*clientConn, error) {
	now := time.Now()
	timeout := t.IdleConnTimeout
	if timeout <= 0 {
		timeout = defaultIdleConnTimeout
	}
	for {
		t.mu.Lock()
		n := len(t.idle)
		if n == 0 {
			t.mu.Unlock()
			break
		}
		cc := t.idle[n-1]
		t.idle[n-1] = nil
		t.idle = t.idle[:n-1]
		t.mu.Unlock()
		idleFor := now.Sub(cc.idleSince)
		if idleFor > timeout || (idleFor > peekAfter && !cc.alive()) {
			cc.nc.Close()
			continue
		}
		cc.reused = true
		return cc, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	nc, err := t.dial(ctx)
	if err != nil {
		return nil, err
	}
	return newClientConn(t, nc), nil
}

// putConn keeps cc for reuse, or closes it.
func (t *Transport) putConn(cc *clientConn) {
	max := t.MaxIdleConns
	if max == 0 {
		max = defaultMaxIdleConns
	}
	cc.idleSince = time.Now()
	t.mu.Lock()
	if len(t.idle) < max {
		t.idle = append(t.idle, cc)
		cc = nil
	}
	t.mu.Unlock()
	if cc != nil {
		cc.nc.Close()
	}
}

func (t *Transport) maxHeader() int {
	if t.MaxResponseHeaderBytes > 0 {
		return t.MaxResponseHeaderBytes
	}
	return defaultMaxHeaderBytes
}

// canRetry reports whether a request that failed on a reused connection may
// be sent again: the connection died before any byte of the response came,
// and the request is idempotent or was not sent at all.
func canRetry(req *http.Request, err error) bool {
	var ne *notSentError
	if errors.As(err, &ne) {
		return true
	}
	var ce *connLostError
	if !errors.As(err, &ce) || req.Context().Err() != nil {
		return false
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return req.Header.Get("Idempotency-Key") != "" || req.Header.Get("X-Idempotency-Key") != ""
}

// rewind prepares a request to be sent again.
func rewind(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	if req.GetBody == nil {
		return nil, errors.New("httpipc: cannot resend a request body without GetBody")
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	r2 := *req
	r2.Body = body
	return &r2, nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// notSentError means nothing of the request reached the provider.
type notSentError struct{ err error }

func (e *notSentError) Error() string { return "httpipc: sending request: " + e.err.Error() }
func (e *notSentError) Unwrap() error { return e.err }

// connLostError means the connection ended before any byte of the response.
// It matches ErrNoResponse.
type connLostError struct{ err error }

func (e *connLostError) Is(target error) bool { return target == ErrNoResponse }

func (e *connLostError) Error() string {
	return "httpipc: provider closed the connection before responding: " + e.err.Error()
}
func (e *connLostError) Unwrap() error { return e.err }

func got1xx(ctx context.Context) func(int, http.Header) error {
	trace := httptrace.ContextClientTrace(ctx)
	if trace == nil || trace.Got1xxResponse == nil {
		return nil
	}
	return func(code int, h http.Header) error {
		return trace.Got1xxResponse(code, map[string][]string(h))
	}
}

var _ io.Closer = (*responseBody)(nil)
