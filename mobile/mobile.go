// Package mobile is the bridge between httpipc and Android or iOS host code,
// through gobind (golang.org/x/mobile). Its API uses only types gobind
// supports, so the host implements nothing but moving bytes over its IPC
// (a Binder transaction or Messenger, an XPC message) or handing over a
// descriptor (ParcelFileDescriptor, XPC file descriptor); Go does the rest.
//
// Provider side: the app's Go code registers its http.Handler with package
// registry; the host creates a Provider for that name and feeds it what
// arrives. Client side: the host creates a Client over its channel and calls
// Do, or hands the base URL of a localhost proxy to a web view.
package mobile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/message"
	"github.com/httpipc/httpipc/mobile/registry"
	"github.com/httpipc/httpipc/peercred"
	"github.com/httpipc/httpipc/proxy"
)

// Provider serves a registered handler to callers that reach the host app.
type Provider struct {
	messages *message.Server
	streams  *httpipc.Server
	closed   atomic.Bool

	mu      sync.Mutex
	allowed []int // uids allowed besides this process's own
}

// NewProvider returns the provider for the handler registered as service.
// The host's own user id is the one callers must have, unless AllowUID adds
// others (on Android every app has its own uid: allow the client apps).
func NewProvider(service string) (*Provider, error) {
	h, ok := registry.Lookup(service)
	if !ok {
		return nil, fmt.Errorf("mobile: no handler registered as %q", service)
	}
	p := &Provider{}
	p.messages = &message.Server{Handler: h, Policy: p.policy}
	p.streams = &httpipc.Server{Handler: h, Policy: p.policy}
	return p, nil
}

var errNoCaller = errors.New("mobile: caller identity unknown")

func (p *Provider) policy(c *peercred.Creds) error {
	p.mu.Lock()
	extra := append([]int(nil), p.allowed...)
	p.mu.Unlock()
	if c == nil {
		return errNoCaller
	}
	return httpipc.AnyOf(httpipc.SameUser(), httpipc.AllowUIDs(extra...))(c)
}

// AllowUID lets callers running as uid in (an Android client app's uid,
// as Binder.getCallingUid reports it).
func (p *Provider) AllowUID(uid int64) {
	p.mu.Lock()
	p.allowed = append(p.allowed, int(uid))
	p.mu.Unlock()
}

// HandleMessage answers one message-mode request (an RFC 9292 message) from
// the caller with callerUID and callerPID, as the host's channel reports
// them, and returns the response message.
func (p *Provider) HandleMessage(callerUID, callerPID int64, request []byte) []byte {
	return p.messages.ServeMessage(context.Background(), creds(callerUID, callerPID), request)
}

// ServeFD serves the stream protocol on the connected socket fd, one end of
// a socketpair whose other end the host handed to the caller. The provider
// takes ownership of fd.
func (p *Provider) ServeFD(fd, callerUID, callerPID int64) error {
	f := os.NewFile(uintptr(fd), "httpipc-stream")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("mobile: descriptor %d: %w", fd, err)
	}
	return p.serveConn(httpipc.ConnWithPeer(c, creds(callerUID, callerPID)))
}

// serveConn serves the stream protocol on c, whose peer the host named,
// unless the provider is closed; then it closes c.
func (p *Provider) serveConn(c net.Conn) error {
	if p.closed.Load() {
		c.Close()
		return net.ErrClosed
	}
	go func() { _ = p.streams.ServeConn(context.Background(), c) }()
	return nil
}

// ServeLink serves the streams that the caller with callerUID and callerPID
// opens on link (streams over messages, docs/PROTOCOL.md section 10), until
// the link closes.
func (p *Provider) ServeLink(link *Link, callerUID, callerPID int64) {
	mux := link.mux(false, creds(callerUID, callerPID))
	go func() {
		for {
			c, err := mux.Accept()
			if err != nil {
				return
			}
			if p.serveConn(c) != nil {
				return
			}
		}
	}()
}

// Close stops the provider.
func (p *Provider) Close() error {
	p.closed.Store(true)
	return p.streams.Close()
}

func creds(uid, pid int64) *peercred.Creds {
	return &peercred.Creds{UID: int(uid), PID: int(pid), GID: -1}
}

// Caller is implemented by the host to carry one message-mode request to
// the provider app and return its response (for example a Binder
// transaction).
type Caller interface {
	Call(request []byte) ([]byte, error)
}

// Client calls a provider through the host's channel.
type Client struct {
	hc *http.Client
}

// NewMessageClient returns a client that sends each request as one message
// through caller; maxMessage bounds a message (0: 256 KiB).
func NewMessageClient(caller Caller, maxMessage int64) *Client {
	ch := &callerChannel{c: caller, max: int(maxMessage)}
	return &Client{hc: &http.Client{Transport: &message.Transport{Channel: ch}}}
}

// NewFDClient returns a client that speaks the stream protocol on the
// connected socket fd the provider handed over. It takes ownership of fd.
func NewFDClient(fd int64) (*Client, error) {
	f := os.NewFile(uintptr(fd), "httpipc-stream")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("mobile: descriptor %d: %w", fd, err)
	}
	var once sync.Once
	dial := func(context.Context) (net.Conn, error) {
		var out net.Conn
		err := errors.New("mobile: the handed-over connection is in use or closed; ask the provider for another")
		once.Do(func() { out, err = c, nil })
		return out, err
	}
	tr := &httpipc.Transport{DialContext: dial, Provider: httpipc.AllowAny(), MaxIdleConns: 1}
	return &Client{hc: &http.Client{Transport: tr}}, nil
}

// NewLinkClient returns a client whose requests run as streams over link,
// concurrently, with bodies of any size (streams over messages,
// docs/PROTOCOL.md section 10).
func NewLinkClient(link *Link) *Client {
	mux := link.mux(true, nil)
	tr := &httpipc.Transport{DialContext: mux.Open, Provider: httpipc.AllowAny()}
	return &Client{hc: &http.Client{Transport: tr}}
}

// Sender is implemented by the host to carry one message of a link to the
// other app, keeping the order of the calls: a oneway Binder transaction
// through a Messenger, an XPC message. It may block while the channel is
// full. The message is the host's to keep.
type Sender interface {
	Send(message []byte) error
}

// Link is one channel for streams over messages between this app and
// another, carried by the host: Go sends through the host's Sender, and the
// host hands every message that arrives from the other side to Deliver, in
// the order they came. One Link serves one Client (NewLinkClient) or one
// caller of a Provider (ServeLink).
type Link struct {
	sender Sender
	max    int
	in     chan []byte
	done   chan struct{}
	once   sync.Once
	err    error
}

// NewLink returns a link over sender whose messages are at most maxMessage
// bytes (0: 64 KiB; Binder's buffer is shared by a whole process, so keep it
// small). Streams cut their bytes into chunks of up to 16 KiB.
func NewLink(sender Sender, maxMessage int64) *Link {
	if maxMessage <= 0 {
		maxMessage = 64 << 10
	}
	return &Link{sender: sender, max: int(maxMessage), in: make(chan []byte, 64), done: make(chan struct{})}
}

// Deliver hands the link one message from the other side. It blocks while
// Go is behind (the flow-control window bounds how far); it fails once the
// link is closed or when the message is larger than the link carries, which
// also closes the link.
func (l *Link) Deliver(message []byte) error {
	if len(message) > l.max {
		err := fmt.Errorf("mobile: link message of %d bytes, over the %d-byte limit", len(message), l.max)
		l.close(err)
		return err
	}
	msg := append([]byte(nil), message...)
	select {
	case <-l.done:
		return l.err
	default:
	}
	select {
	case l.in <- msg:
		return nil
	case <-l.done:
		return l.err
	}
}

// Close ends the link, for example when the other app died (Binder's
// binderDied, an invalidated XPC connection): every request on it fails.
func (l *Link) Close() error {
	l.close(errors.New("mobile: link closed"))
	return nil
}

func (l *Link) close(err error) {
	l.once.Do(func() {
		l.err = err
		close(l.done)
	})
}

func (l *Link) mux(client bool, peer *peercred.Creds) *message.Mux {
	opt := message.MuxOptions{Peer: peer}
	if client {
		return message.ClientMux(hostLink{l}, opt)
	}
	return message.ServerMux(hostLink{l}, opt)
}

// hostLink is the message.Link view of a Link.
type hostLink struct{ l *Link }

func (h hostLink) Send(msg []byte) error {
	select {
	case <-h.l.done:
		return h.l.err
	default:
	}
	return h.l.sender.Send(append([]byte(nil), msg...))
}

func (h hostLink) Recv() ([]byte, error) {
	select {
	case msg := <-h.l.in:
		return msg, nil
	case <-h.l.done:
		return nil, h.l.err
	}
}

func (h hostLink) MaxMessageSize() int { return h.l.max }
func (h hostLink) Close() error        { return h.l.Close() }

// LocalProxy is a localhost HTTP server that forwards to the provider
// through a Client: hand its URL to a web view or an SDK that only takes a
// base URL.
type LocalProxy struct {
	url string
	p   *proxy.Proxy
}

// StartProxy starts a localhost proxy on a free port of 127.0.0.1 whose
// requests go through c. allowOrigins lists, one per line, the origins
// whose pages may call it from another origin (a web view's own origin such
// as https://appassets.androidplatform.net); pages served through the proxy
// are always allowed. Only this app may use the proxy, since the provider
// sees this app's identity: where the proxy cannot tell which app or user
// opened a connection (Android, whose sandbox forbids the lookup, and iOS),
// every request must carry a fresh random secret, which URL includes as its
// first path segment; where it can (Linux), it admits only this user's
// processes. With secret, the secret is required everywhere, in addition to
// that check.
func (c *Client) StartProxy(allowOrigins string, secret bool) (*LocalProxy, error) {
	p := &proxy.Proxy{Transport: c.hc.Transport}
	for _, o := range strings.Split(allowOrigins, "\n") {
		if o = strings.TrimSpace(o); o != "" {
			p.AllowOrigins = append(p.AllowOrigins, o)
		}
	}
	if secret {
		p.Secret = proxy.NewSecret()
	}
	ln, err := proxy.Listen("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go p.Serve(ln)
	return &LocalProxy{url: p.BaseURL(ln.Addr()), p: p}, nil
}

// URL is the proxy's base URL, e.g. http://127.0.0.1:41234/SECRET: hand
// this very URL to the web view or SDK.
func (lp *LocalProxy) URL() string { return lp.url }

// Close stops the proxy.
func (lp *LocalProxy) Close() error { return lp.p.Close() }

// Response is what Do returns.
type Response struct {
	Status int64
	// Headers holds one "Name: value" line per field value, sorted by name.
	Headers string
	Body    []byte
}

// Do sends a request. headers holds "Name: value" lines separated by "\n".
// The body is read whole into Body: use the localhost proxy for streams.
func (c *Client) Do(method, url, headers string, body []byte) (*Response, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(headers, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("mobile: header line %q is not 'Name: value'", line)
		}
		req.Header.Add(textproto.TrimString(k), textproto.TrimString(v))
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	for _, k := range keys {
		for _, v := range resp.Header[k] {
			sb.WriteString(k + ": " + v + "\n")
		}
	}
	return &Response{Status: int64(resp.StatusCode), Headers: sb.String(), Body: b}, nil
}

type callerChannel struct {
	c   Caller
	max int
}

func (ch *callerChannel) Call(ctx context.Context, req []byte) ([]byte, error) {
	return ch.c.Call(req)
}

func (ch *callerChannel) MaxMessageSize() int { return ch.max }
