// Package proxy is the embedded localhost HTTP server of a client app. It
// forwards every request it receives over IPC to a provider, so that code
// which only takes a base URL (a web view, a vendor SDK, a web app) reaches
// the provider's API at http://127.0.0.1:PORT.
//
// A port on 127.0.0.1 is open to every app and every user on the device and,
// through the browser, to every web page. The provider sees the proxy's own
// user, not the caller's, so an open proxy would lend this user's identity to
// anyone (a confused deputy). The proxy therefore guards its port by default
// (see Proxy):
//
//   - only processes of this proxy's own user are admitted: on Linux the
//     owner of a loopback TCP connection is looked up with sock_diag, and a
//     Unix socket's peer credentials are checked (its file is also created
//     with mode 0600). Where the user cannot be looked up (TCP on Android,
//     macOS, iOS, Windows, and other systems) a per-launch secret is required
//     instead: a zero-value Proxy makes one itself and BaseURL includes it.
//     AllowOtherUsers turns this off, for every local user;
//   - requests whose Host is not the proxy's own address are refused (DNS
//     rebinding), and so are cross-origin requests from origins not listed in
//     AllowOrigins;
//   - with BrowserSessions, only a browser that opened a one-time launch URL
//     (LaunchURL) gets in: it trades the URL's token for an HttpOnly,
//     SameSite=Strict cookie that every later request must carry;
//   - with Paths, only the listed paths are forwarded.
//
// Each refusal is a one-line 4xx answer, also logged. Log lines never carry
// the secret, a launch token, cookies or OAuth codes and tokens found in a
// URL's query.
//
// The provider always gets an RFC 7239 Forwarded field written by the proxy,
// replacing any the client sent, so a provider can tell that a request came
// through a proxy (an authorization server refuses to issue tokens through
// one, since they would be bound to the proxy's user).
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
	// in the Httpipc-Secret header. NewSecret makes one per launch. It is
	// required in addition to the user check. Empty means none where the
	// proxy can check the caller's user, and a secret the proxy makes itself
	// where it cannot (see AllowOtherUsers): hand clients BaseURL, not a URL
	// of your own making.
	Secret string
	// AllowOtherUsers admits connections from every local user. By default
	// only this process's user is admitted: a loopback TCP connection's
	// owner is looked up with sock_diag (Linux), a Unix socket's peer by its
	// credentials (Linux, Android, macOS, iOS). Where the lookup is not
	// possible (TCP on Android, macOS, iOS, Windows and others; Unix sockets
	// on Windows) a secret is required instead, Secret or one the proxy
	// makes (BaseURL includes it), unless BrowserSessions is set, whose
	// session cookie then serves as the secret.
	AllowOtherUsers bool
	// BrowserSessions admits only browsers (or web views) that opened a
	// launch URL made by LaunchURL: the proxy trades the URL's one-time
	// token for a session cookie (HttpOnly, SameSite=Strict) and redirects
	// to the URL's target; every other request must carry that cookie,
	// which the provider never sees. A URL shown to the user or passed on a
	// command line can be read by other local users; its token works once.
	// Pages of another origin (AllowOrigins) do not send a SameSite=Strict
	// cookie: a proxy for them uses Secret, through the header, instead.
	BrowserSessions bool
	// Paths, when set, lists the only paths forwarded, after the secret is
	// taken off: an entry ending in "/" forwards every path under it, any
	// other entry that path alone. Other requests are answered 404 here.
	// Empty means every path.
	Paths []string
	// Timeout bounds each request, from its arrival to the end of the
	// response. Zero means none, so long downloads and streams are not cut.
	Timeout time.Duration
	// Logger receives refusals and forwarding errors. Nil means
	// slog.Default().
	Logger *slog.Logger

	once sync.Once
	rp   *httputil.ReverseProxy
	auto string // the secret made where the user cannot be checked
	sess sessions

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
// loopback addresses are accepted. A Unix socket is made as providers'
// sockets are (transport.ListenUnix): its file has mode 0600 (owner only)
// from the moment it appears, a missing parent directory is created with
// mode 0700, and a directory other users could write to is refused.
func Listen(addr string) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		return listenUnix(path)
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
// addr, with the secret, if one is required there, as its first path
// segment. For a Unix socket its host is "localhost" and the client must
// dial the socket itself.
func (p *Proxy) BaseURL(addr net.Addr) string {
	p.once.Do(p.init)
	u := url.URL{Scheme: "http", Host: "localhost"}
	if a, ok := addr.(*net.TCPAddr); ok {
		u.Host = a.String()
	}
	if s := p.secretFor(addr, false); s != "" {
		u.Path = "/" + s
	}
	return u.String()
}

// Serve accepts connections on ln and forwards their requests until Close
// or Shutdown. It returns http.ErrServerClosed after those.
func (p *Proxy) Serve(ln net.Listener) error {
	p.once.Do(p.init)
	p.mu.Lock()
	if p.srv == nil {
		p.srv = &http.Server{
			Handler: p,
			// A slow client may hold a connection, not an unbounded
			// number of header bytes: headers must arrive in time.
			ReadHeaderTimeout: 30 * time.Second,
			ConnContext:       ConnContext,
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
// server of the app's own, which must then set its http.Server.ConnContext
// to ConnContext: without it the proxy cannot check the caller's user and
// refuses every request, unless AllowOtherUsers is set.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.once.Do(p.init)
	cors, ok := p.guard(w, r)
	if !ok {
		return
	}
	if !p.forwards(r.URL.Path) {
		p.refuse(w, r, "", http.StatusNotFound, "this proxy does not forward "+r.URL.Path)
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
	// The provider may answer while the request body is still coming (an
	// echo, a transcoder); net/http's HTTP/1 server then stops the body
	// unless told otherwise.
	_ = http.NewResponseController(w).EnableFullDuplex()
	if r.ContentLength > 0 && r.ContentLength <= smallBody {
		// A small body of known length is read first, so that the request
		// goes to the provider in one write instead of streaming.
		b := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			p.refuse(w, r, "", http.StatusBadRequest, "reading the request body: "+err.Error())
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	p.rp.ServeHTTP(w, r)
}

// Guard returns a handler that applies the proxy's checks (Host, user,
// origin, secret, browser session) to each request and then passes it to
// h instead of forwarding it: for what an app serves itself next to the
// proxy, such as a web view's pages, so that they are no more open than the
// API behind the proxy. The secret is taken off the path and the session
// cookie out of the request before h sees them. Paths does not apply.
func (p *Proxy) Guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.once.Do(p.init)
		cors, ok := p.guard(w, r)
		if !ok {
			return
		}
		if cors.origin != "" {
			allow(w.Header(), cors.origin)
		}
		dropSessionCookies(r.Header)
		h.ServeHTTP(w, r)
	})
}

// smallBody is the largest request body read whole before forwarding.
const smallBody = 16 << 10

func (p *Proxy) init() {
	p.auto = NewSecret()
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
// Forwarded field from which it can rebuild the URL the client saw. The
// field replaces whatever the client sent: the provider must always be able
// to tell that the request came through a proxy. The proxy's own
// credentials (secret header, session cookie) do not reach the provider.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	host := p.Host
	if host == "" {
		host = pr.In.Host
	}
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = host
	pr.Out.Host = host
	pr.Out.Header.Del(SecretHeader)
	dropSessionCookies(pr.Out.Header)
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
