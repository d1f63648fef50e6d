// Package proxy is the embedded localhost HTTP server of a client app. It
// forwards every request it receives over IPC to a provider, so that code
// which only takes a base URL (a web view, a vendor SDK, a web app) reaches
// the provider's API at http://127.0.0.1:PORT.
//
// A port on 127.0.0.1 is open to every app on the device and, through the
// browser, to every web page, so the proxy guards it (see Proxy): it refuses
// requests whose Host is not its own address (DNS rebinding), cross-origin
// requests from origins not listed in AllowOrigins, and, when asked, requests
// without the per-launch Secret or from another user's processes.
//
// Forwarding is net/http/httputil's ReverseProxy over an httpipc.Transport:
// bodies stream both ways through bounded buffers, streamed responses
// (server-sent events, bodies of unknown length) are flushed as they arrive,
// Range and conditional requests pass through untouched, and a client that
// hangs up cancels the call to the provider. Protocol upgrades (WebSocket)
// are refused with 501: the httpipc protocol carries request and response
// messages, not raw connections.
package proxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/httpipc/httpipc"
)

// SecretHeader is the request header that may carry Proxy.Secret instead of
// the first path segment.
const SecretHeader = "Httpipc-Secret"

// Proxy forwards HTTP requests to a provider over IPC. Set its fields, then
// call Serve; the zero value of each optional field is a good default.
type Proxy struct {
	// Service is the provider's ipc-service address (docs/PROTOCOL.md,
	// section 2), used when Transport is nil.
	Service string
	// Transport carries requests to the provider. Nil means an
	// httpipc.Transport for Service, which starts the provider on demand.
	Transport http.RoundTripper

	// Host is the Host header the provider sees. Empty means the host the
	// client used, the proxy's own address.
	Host string
	// AllowOrigins lists the origins, such as
	// "https://appassets.androidplatform.net", whose pages may call the
	// proxy from another origin; the proxy answers their CORS preflights.
	// Pages served through the proxy itself are always allowed.
	AllowOrigins []string
	// Secret, when set, must come with every request: as the first path
	// segment, which is removed before forwarding (BaseURL includes it), or
	// in the Httpipc-Secret header. NewSecret makes one per launch.
	Secret string
	// SameUser admits only loopback TCP connections from processes of this
	// process's user (Linux only: Serve fails elsewhere). Connections on a
	// Unix socket are checked by their peer credentials.
	SameUser bool
	// Timeout bounds each request, from its arrival to the end of the
	// response. Zero means none, so long downloads and streams are not cut.
	Timeout time.Duration
	// Logger receives refusals and forwarding errors. Nil means
	// slog.Default().
	Logger *slog.Logger

	once sync.Once
	rp   *httputil.ReverseProxy

	mu  sync.Mutex
	srv *http.Server
}

// NewSecret returns a fresh random secret for Proxy.Secret: 128 bits,
// URL-safe.
func NewSecret() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Listen listens where a proxy should: "" or "127.0.0.1:0" is a free port
// on 127.0.0.1, "host:port" a given one, "unix:/path" a Unix socket. Only
// loopback addresses are accepted.
func Listen(addr string) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		return net.Listen("unix", path)
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("proxy: listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("proxy: listen address %q is not a loopback address", addr)
	}
	return net.Listen("tcp", net.JoinHostPort(host, port))
}

// BaseURL is the URL to hand to a web view or SDK for a proxy serving on
// addr, with the secret as its first path segment. For a Unix socket its
// host is "localhost" and the client must dial the socket itself.
func (p *Proxy) BaseURL(addr net.Addr) string {
	u := url.URL{Scheme: "http", Host: "localhost"}
	if a, ok := addr.(*net.TCPAddr); ok {
		u.Host = a.String()
	}
	if p.Secret != "" {
		u.Path = "/" + p.Secret
	}
	return u.String()
}

// Serve accepts connections on ln and forwards their requests until Close
// or Shutdown. It returns http.ErrServerClosed after those.
func (p *Proxy) Serve(ln net.Listener) error {
	if p.SameUser {
		if _, isTCP := ln.Addr().(*net.TCPAddr); isTCP && !loopbackSupported() {
			return errors.New("proxy: SameUser needs Linux for TCP listeners; use a Unix socket")
		}
	}
	p.mu.Lock()
	if p.srv == nil {
		p.srv = &http.Server{
			Handler: p,
			// A slow client may hold a connection, not an unbounded
			// number of header bytes: headers must arrive in time.
			ReadHeaderTimeout: 30 * time.Second,
			ConnContext:       withConn,
			ErrorLog:          slog.NewLogLogger(p.logger().Handler(), slog.LevelDebug),
		}
	}
	srv := p.srv
	p.mu.Unlock()
	return srv.Serve(ln)
}

// Close closes the listeners and connections at once.
func (p *Proxy) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv == nil {
		return nil
	}
	return p.srv.Close()
}

// Shutdown stops accepting and waits for requests in flight until ctx ends.
func (p *Proxy) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	srv := p.srv
	p.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Shutdown(ctx)
}

func (p *Proxy) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.Default()
}

// ServeHTTP guards and forwards one request. It can also be mounted in a
// server of the app's own, whose connections then skip the SameUser check
// unless that server sets ConnContext to ConnContext.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.once.Do(p.init)
	cors, ok := p.guard(w, r)
	if !ok {
		return
	}
	if cors.preflight {
		return
	}
	ctx := r.Context()
	if p.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.Timeout)
		defer cancel()
	}
	ctx = context.WithValue(ctx, corsKey{}, cors)
	r = r.WithContext(ctx)
	if r.ContentLength > 0 && r.ContentLength <= smallBody {
		// A small body of known length is read first, so that the request
		// goes to the provider in one write instead of streaming.
		b := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			p.refuse(w, r, http.StatusBadRequest, "reading the request body: "+err.Error())
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	p.rp.ServeHTTP(w, r)
}

// smallBody is the largest request body read whole before forwarding.
const smallBody = 16 << 10

func (p *Proxy) init() {
	tr := p.Transport
	if tr == nil {
		tr = &httpipc.Transport{Service: p.Service, Logger: p.Logger}
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		Transport:      tr,
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.forwardError,
		BufferPool:     &bufferPool{},
		ErrorLog:       slog.NewLogLogger(p.logger().Handler(), slog.LevelWarn),
	}
}

// rewrite makes the outbound request: the provider's Host, and an RFC 7239
// Forwarded field from which it can rebuild the URL the client saw.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	host := p.Host
	if host == "" {
		host = pr.In.Host
	}
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = host
	pr.Out.Host = host
	pr.Out.Header.Del(SecretHeader)
	fwd := "proto=http"
	if pr.In.Host != "" {
		fwd = "host=" + quote(pr.In.Host) + ";" + fwd
	}
	if pr.In.RemoteAddr != "" {
		fwd = "for=" + quote(pr.In.RemoteAddr) + ";" + fwd
	}
	pr.Out.Header.Set("Forwarded", fwd)
}

// quote makes an RFC 7239 quoted-string (addresses with ports and IPv6
// literals are not tokens).
func quote(s string) string {
	if !strings.ContainsAny(s, `"\`) {
		return `"` + s + `"`
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// bufferPool lends ReverseProxy its 32 KiB copy buffers.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }
