package httpipc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/httpipc/httpipc/peercred"
)

// ErrIdle is returned by Serve when the server stopped because it had no
// connection for IdleTimeout. It wraps http.ErrServerClosed.
var ErrIdle = fmt.Errorf("%w after idle timeout", http.ErrServerClosed)

// Server serves an http.Handler to local peers. The zero value serves
// http.DefaultServeMux to peers of the same user, forever.
type Server struct {
	// Handler answers requests; nil means http.DefaultServeMux.
	Handler http.Handler

	// Policy decides which peers may connect, before any handler runs. Nil
	// means SameUser.
	Policy Policy

	// IdleTimeout, when positive, makes Serve return ErrIdle once no request
	// has been in flight and no connection has been opened for this long.
	// The exit is graceful: the socket is made unreachable first (a socket
	// file the listener owns is removed), connections already queued are
	// served, idle connections are closed between requests, and Serve
	// returns when the last request has finished.
	IdleTimeout time.Duration

	// MaxHeaderBytes bounds the size of a request's control data and header
	// section, and of its trailer section. Zero means 64 KiB. A larger
	// request gets 431 and its connection is closed.
	MaxHeaderBytes int

	// MaxRequestBodyBytes, when positive, bounds a request body. A handler
	// reading past it gets an *http.MaxBytesError and, if it has not
	// answered yet, the peer gets 413.
	MaxRequestBodyBytes int64

	// DisableHTTP1 refuses plain HTTP/1.1 connections, leaving only the
	// binary protocol.
	DisableHTTP1 bool

	// PrefaceTimeout bounds how long a new connection may take to send its
	// first byte and, on the binary protocol, its whole preface; a peer
	// that stays silent is closed then. Zero means 5 seconds; negative
	// means no limit.
	PrefaceTimeout time.Duration

	// ReadHeaderTimeout bounds how long a request may take from its first
	// byte to the end of its header section, on both protocols. Zero means
	// 10 seconds; negative means no limit. Bodies have no deadline: a
	// handler that wants one uses http.ResponseController.
	ReadHeaderTimeout time.Duration

	// ConnIdleTimeout bounds how long a connection may wait for its next
	// request (a keep-alive, on both protocols) before it is closed; on the
	// binary protocol the close may come up to an eighth of it later, so
	// that a busy connection does not move its deadline at every request.
	// Zero means 2 minutes, longer than a Transport keeps an idle
	// connection (90 seconds), so the client closes first and no request
	// races the close; negative means no limit.
	ConnIdleTimeout time.Duration

	// MaxConns caps the connections open at once, and MaxConnsPerUser
	// those of one user (peers whose identity is unknown count as one
	// user). A connection over a cap is refused before anything is read
	// from it. Zero means 1024 and 256; negative means no cap.
	MaxConns        int
	MaxConnsPerUser int

	// InsecureAllowAnyUser lets Serve run with a Policy that admits every
	// user on a socket that no file permission guards: an abstract Unix
	// socket or TCP. Without it Serve refuses to start with ErrOpenSocket,
	// since any local user could call the handler.
	InsecureAllowAnyUser bool

	// Logger receives connection-level events (refused peers, protocol
	// errors, handler panics). Nil means slog.Default().
	Logger *slog.Logger

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]*connState
	perUser   map[userKey]int // open connections by user
	capLog    time.Time       // when a refusal at a cap was last logged
	active    int             // connections inside a request
	idle      *time.Timer
	idleGen   int           // identifies the current idle timer
	idleFire  chan struct{} // receives when the idle timer fires
	shutdown  bool
	done      chan struct{} // closed by Shutdown and Close
	h1        *http.Server
	h1ln      *chanListener
	h1once    sync.Once
}

// connState tracks where a connection is, so Shutdown and the idle exit can
// close idle connections at once, cut short new ones that have sent nothing,
// and wait for busy ones. A new connection is not busy until its first byte
// arrives, so a silent peer does not hold off the idle exit.
type connState struct {
	phase connPhase
	user  userKey
	cut   bool // a new connection's deadline was cut short by a shutdown
	// closed, if not nil, is closed when the connection is untracked
	// (ServeConn waits for it).
	closed chan struct{}
}

type connPhase uint8

const (
	phaseNew  connPhase = iota // accepted, nothing read yet
	phaseBusy                  // inside a request
	phaseIdle                  // between requests
)

// userKey identifies a peer's user for the per-user connection cap.
type userKey struct {
	uid int
	sid string
}

func userOf(p *peercred.Creds) userKey {
	if p == nil {
		return userKey{uid: -1}
	}
	return userKey{uid: p.UID, sid: p.SID}
}

// Serve accepts connections on ln and serves them until the server is shut
// down, closed, or idle for IdleTimeout. It returns http.ErrServerClosed
// after Shutdown or Close, ErrIdle after an idle exit, or the error that
// stopped Accept. ln is closed when Serve returns; a listener that owns its
// socket file removes it first, and connections already queued on it are
// still served, so a client that connected just before the idle exit is not
// dropped.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.checkOpenSocket(ln.Addr()); err != nil {
		ln.Close()
		return err
	}
	s.mu.Lock()
	s.init()
	if s.shutdown {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.armIdle()
	idleCh := s.idleFire
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()

	accepted := make(chan acceptResult)
	stop := make(chan struct{})
	defer close(stop)
	go s.acceptLoop(ln, accepted, stop)

	for {
		select {
		case r := <-accepted:
			if r.err != nil {
				if s.isShutdown() {
					return http.ErrServerClosed
				}
				if isTimeout(r.err) {
					// The deadline drainIdle set: the queue is empty.
					s.logger().Info("httpipc: idle, exiting", "after", s.IdleTimeout)
					ln.Close()
					s.waitConns(context.Background())
					return ErrIdle
				}
				return r.err
			}
			peer, tr := s.admit(r.c, nil)
			switch tr {
			case trackClosed:
				return http.ErrServerClosed
			case trackOverCap:
				continue
			}
			go s.serveConn(r.c, peer)
		case <-idleCh:
			s.mu.Lock()
			busy := s.active > 0
			s.mu.Unlock()
			if busy {
				continue // a connection arrived after the timer fired
			}
			// Serve what was queued before the socket became unreachable;
			// Accept then fails with the deadline set by drainIdle.
			s.drainIdle(ln)
			idleCh = nil
		case <-s.done:
			return http.ErrServerClosed
		}
	}
}

// ServeConn serves one connection that the server did not accept itself,
// such as one end of a socketpair handed to a caller over D-Bus or Binder,
// or a stream of a message.Mux, and returns when the server is done with
// the connection: it closed c, or a handler hijacked an HTTP/1.1 one. It
// applies what Serve applies to a connection
// it accepts: the connection caps, the Policy (use ConnWithPeer to give c
// the identity of a peer the kernel cannot name), the deadlines, and
// HTTP/1.1 unless DisableHTTP1. Ending ctx closes the connection.
//
// The connection counts towards the caps, Shutdown, Close and the idle
// accounting like one from Serve: while it is inside a request, a Serve of
// the same server does not exit idle, and at that exit it is closed once
// idle. IdleTimeout makes only Serve return; a server fed by ServeConn
// alone never exits on its own, and its owner decides when to stop it.
//
// ServeConn returns nil once the connection was served, refused included;
// http.ErrServerClosed when the server was shut down or closed first;
// ErrOpenSocket when c is an abstract Unix socket or TCP and the Policy
// admits every user (see InsecureAllowAnyUser).
func (s *Server) ServeConn(ctx context.Context, c net.Conn) error {
	if err := s.checkOpenSocket(c.LocalAddr()); err != nil {
		c.Close()
		return err
	}
	s.mu.Lock()
	s.init()
	s.mu.Unlock()
	closed := make(chan struct{})
	peer, tr := s.admit(c, closed)
	switch tr {
	case trackClosed:
		return http.ErrServerClosed
	case trackOverCap:
		return nil
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	s.serveConn(c, peer)
	<-closed // an HTTP/1.1 connection is still being served
	return nil
}

// ConnWithPeer returns c with the identity of its peer attached, for a
// connection whose peer the kernel cannot name, or names wrongly: one end of
// a socketpair this process handed to a caller names this process. A
// Server (Serve or ServeConn) applies its Policy to peer, peercred.Get(c)
// returns it, and handlers find it with Peer. A nil peer is an unknown
// identity, checked as Policy(nil).
func ConnWithPeer(c net.Conn, peer *peercred.Creds) net.Conn {
	return &peerConn{Conn: c, peer: peer}
}

// peerConn is a connection whose peer was named by whoever handed it over.
type peerConn struct {
	net.Conn
	peer *peercred.Creds
}

func (c *peerConn) PeerCreds() (*peercred.Creds, error) { return c.peer, nil }

var _ peercred.Conn = (*peerConn)(nil)

// admit starts serving a new connection: it sets the deadline of the first
// byte and the preface, learns the peer and tracks the connection, unless
// the server is shutting down or a connection cap is reached; then it
// closes c, after a refusal at a cap. closed, if not nil, is closed once
// the connection is no longer tracked.
func (s *Server) admit(c net.Conn, closed chan struct{}) (*peercred.Creds, trackResult) {
	// The first byte and the preface have a deadline from the moment of
	// accept; a shutdown may only shorten it.
	if d := s.prefaceTimeout(); d > 0 {
		_ = c.SetReadDeadline(time.Now().Add(d))
	}
	peer, err := peercred.Get(c)
	if err != nil {
		peer = nil
	}
	tr := s.track(c, peer, closed)
	switch tr {
	case trackClosed:
		c.Close()
	case trackOverCap:
		s.refuseAtCap(c, peer)
	}
	return peer, tr
}

type acceptResult struct {
	c   net.Conn
	err error
}

// acceptLoop accepts connections until an error that is not temporary.
func (s *Server) acceptLoop(ln net.Listener, out chan<- acceptResult, stop <-chan struct{}) {
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil && !errors.Is(err, net.ErrClosed) && !isTimeout(err) {
			// Resource exhaustion (EMFILE and the like): back off and retry.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.logger().Warn("httpipc: accept failed; retrying", "err", err, "delay", delay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
				continue
			case <-stop:
				t.Stop()
				return
			}
		}
		delay = 0
		select {
		case out <- acceptResult{c, err}:
		case <-stop:
			if c != nil {
				c.Close()
			}
			return
		}
		if err != nil {
			return
		}
	}
}

// positive turns the "no limit" of a negative duration into net/http's zero.
func positive(d time.Duration) time.Duration {
	return max(d, 0)
}

func isTimeout(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// drainIdle starts the idle exit: it makes the socket unreachable for new
// clients and lets Accept return what is already queued before it times out.
func (s *Server) drainIdle(ln net.Listener) {
	if u, ok := ln.(interface{ Unlink() error }); ok {
		_ = u.Unlink()
	}
	if d, ok := ln.(interface{ SetDeadline(time.Time) error }); ok {
		_ = d.SetDeadline(time.Now().Add(drainWindow))
	} else {
		ln.Close()
	}
}

// waitConns closes idle connections and waits for busy ones to finish, or
// for ctx to end.
func (s *Server) waitConns(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		s.mu.Lock()
		for c, st := range s.conns {
			switch {
			case st.phase == phaseIdle:
				c.Close()
			case st.phase == phaseNew && !st.cut:
				// A client that connected before the socket became
				// unreachable has sent its preface already; one that
				// has not is silent and need not be waited for.
				st.cut = true
				_ = c.SetReadDeadline(time.Now().Add(drainWindow))
			}
		}
		n := len(s.conns)
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (s *Server) init() {
	if s.listeners == nil {
		s.listeners = map[net.Listener]struct{}{}
		s.conns = map[net.Conn]*connState{}
		s.perUser = map[userKey]int{}
		s.done = make(chan struct{})
		s.idleFire = make(chan struct{}, 1)
	}
}

// armIdle (re)starts the idle timer when no connection is busy. s.mu is
// held.
func (s *Server) armIdle() {
	if s.IdleTimeout <= 0 || s.active > 0 {
		return
	}
	if s.idle != nil {
		s.idle.Stop()
	}
	s.idleGen++
	gen := s.idleGen
	s.idle = time.AfterFunc(s.IdleTimeout, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.idleGen == gen && s.active == 0 {
			s.idle = nil
			select {
			case s.idleFire <- struct{}{}:
			default:
			}
		}
	})
}

func (s *Server) stopIdle() {
	s.idleGen++
	if s.idle != nil {
		s.idle.Stop()
		s.idle = nil
	}
}

type trackResult uint8

const (
	trackOK trackResult = iota
	trackClosed
	trackOverCap
)

// track records a new connection, unless the server is shutting down or a
// connection cap is reached.
func (s *Server) track(c net.Conn, peer *peercred.Creds, closed chan struct{}) trackResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return trackClosed
	}
	u := userOf(peer)
	if max := capOr(s.MaxConns, defaultMaxConns); max > 0 && len(s.conns) >= max {
		return trackOverCap
	}
	if max := capOr(s.MaxConnsPerUser, defaultMaxConnsPerUser); max > 0 && s.perUser[u] >= max {
		return trackOverCap
	}
	s.conns[c] = &connState{phase: phaseNew, user: u, closed: closed}
	s.perUser[u]++
	return trackOK
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.conns[c]
	if st == nil {
		return
	}
	delete(s.conns, c)
	if st.closed != nil {
		close(st.closed)
	}
	if s.perUser[st.user]--; s.perUser[st.user] <= 0 {
		delete(s.perUser, st.user)
	}
	if st.phase == phaseBusy {
		s.active--
	}
	s.armIdle()
}

// setBusy records whether c is inside a request.
func (s *Server) setBusy(c net.Conn, busy bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.conns[c]
	if st == nil || (st.phase == phaseBusy) == busy {
		return
	}
	if busy {
		st.phase = phaseBusy
		s.active++
		s.stopIdle()
	} else {
		st.phase = phaseIdle
		s.active--
		s.armIdle()
	}
}

// refuseAtCap closes a connection over a connection cap without reading
// from it, after a refusal preface that a binary-protocol client reports
// as ErrRefused. It is logged at most once a second.
func (s *Server) refuseAtCap(c net.Conn, peer *peercred.Creds) {
	_ = c.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
	_, _ = c.Write(refusalPreface(errTooManyConns))
	c.Close()
	s.mu.Lock()
	now := time.Now()
	log := now.Sub(s.capLog) >= time.Second
	if log {
		s.capLog = now
	}
	s.mu.Unlock()
	if log {
		s.logger().Warn("httpipc: connection refused", "peer", peerString(peer), "reason", errTooManyConns)
	}
}

func capOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func timeoutOr(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}

func (s *Server) prefaceTimeout() time.Duration {
	return timeoutOr(s.PrefaceTimeout, defaultPrefaceTimeout)
}

func (s *Server) readHeaderTimeout() time.Duration {
	return timeoutOr(s.ReadHeaderTimeout, defaultReadHeaderTimeout)
}

func (s *Server) connIdleTimeout() time.Duration {
	return timeoutOr(s.ConnIdleTimeout, defaultConnIdleTimeout)
}

func (s *Server) isShutdown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shutdown
}

// Shutdown stops accepting connections, closes idle ones, and waits for
// in-flight requests to finish or ctx to end.
func (s *Server) Shutdown(ctx context.Context) error {
	if h1 := s.stop(); h1 != nil {
		go h1.Shutdown(ctx)
	}
	return s.waitConns(ctx)
}

// Close closes all listeners and connections at once.
func (s *Server) Close() error {
	h1 := s.stop()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	if h1 != nil {
		h1.Close()
	}
	return nil
}

// stop marks the server as shutting down and closes its listeners. It
// returns the HTTP/1.1 server, if one was started.
func (s *Server) stop() *http.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	if !s.shutdown {
		s.shutdown = true
		close(s.done)
	}
	for ln := range s.listeners {
		ln.Close()
	}
	return s.h1
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Server) handler() http.Handler {
	if s.Handler != nil {
		return s.Handler
	}
	return http.DefaultServeMux
}

func (s *Server) policy() Policy {
	if s.Policy != nil {
		return s.Policy
	}
	return SameUser()
}

// serveConn checks the peer, then serves the protocol its first byte names.
// When the peer's credentials are known, the policy is checked before
// anything is read.
func (s *Server) serveConn(c net.Conn, peer *peercred.Creds) {
	handedOff := false
	defer func() {
		if !handedOff {
			c.Close()
			s.untrack(c)
		}
	}()
	policy := s.policy()
	var perr error
	if peer != nil {
		if perr = policy(peer); perr != nil {
			// Wait briefly for the first byte only to answer in the
			// peer's protocol.
			_ = c.SetReadDeadline(time.Now().Add(refusalWait))
		}
	}
	dr := &deadlineReader{c: c}
	br := bufio.NewReaderSize(dr, bufferSize)
	first, err := br.Peek(1)
	if err != nil {
		if perr != nil {
			s.logRefused(peer, perr)
			s.refuse(c, br, perr.Error())
		} else if isTimeout(err) {
			s.logger().Info("httpipc: closing a connection that sent nothing", "peer", peerString(peer), "after", s.prefaceTimeout())
		}
		return
	}
	isBinary := first[0] == magic[0]
	if peer == nil {
		perr = policy(nil)
	}
	if perr != nil {
		s.logRefused(peer, perr)
		if isBinary {
			s.refuse(c, br, perr.Error())
		} else {
			refuseHTTP1(c, http.StatusForbidden, perr.Error())
		}
		return
	}
	s.setBusy(c, true)
	if !isBinary {
		if s.DisableHTTP1 || !tokenByte(first[0]) {
			s.logger().Warn("httpipc: unknown protocol", "peer", peerString(peer), "first_byte", first[0])
			refuseHTTP1(c, http.StatusBadRequest, "expected the httpipc preface or an HTTP/1.1 request")
			return
		}
		handedOff = true
		s.serveHTTP1(&bufferedConn{Conn: c, r: br}, peer)
		return
	}
	sc := &serverConn{srv: s, c: c, dr: dr, br: br, peer: peer}
	sc.serve()
}

func (s *Server) logRefused(peer *peercred.Creds, reason error) {
	s.logger().Warn("httpipc: peer refused", "peer", peerString(peer), "uid", uidOf(peer), "pid", pidOf(peer), "reason", reason)
}

// refuse answers a binary-protocol client with a refusal preface, after
// reading what it sent of its own preface so that closing the connection
// does not reset it before the refusal is read.
func (s *Server) refuse(c net.Conn, br *bufio.Reader, reason string) {
	_ = c.SetDeadline(time.Now().Add(refusalWait))
	_, _ = br.Discard(min(br.Buffered(), prefaceLen+2))
	_, _ = c.Write(refusalPreface(reason))
}

// refusalPreface is a server preface that refuses the connection.
func refusalPreface(reason string) []byte {
	if len(reason) > maxRefusalReason {
		reason = reason[:maxRefusalReason]
	}
	b := append(magic[:], versionRefused)
	return appendString(b, reason)
}

func refuseHTTP1(c net.Conn, code int, reason string) {
	_ = c.SetDeadline(time.Now().Add(refusalWait))
	fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s\n",
		code, http.StatusText(code), len(reason)+1, reason)
}

// serveHTTP1 hands c to an http.Server that shares this server's handler.
func (s *Server) serveHTTP1(c *bufferedConn, peer *peercred.Creds) {
	s.h1once.Do(func() {
		s.mu.Lock()
		s.h1ln = newChanListener()
		h := s.handler()
		if s.MaxRequestBodyBytes > 0 {
			h = http.MaxBytesHandler(h, s.MaxRequestBodyBytes)
		}
		s.h1 = &http.Server{
			Handler:           h,
			MaxHeaderBytes:    s.maxHeader(),
			ReadHeaderTimeout: positive(s.readHeaderTimeout()),
			IdleTimeout:       positive(s.connIdleTimeout()),
			ErrorLog:          slog.NewLogLogger(s.logger().Handler(), slog.LevelWarn),
			ConnContext: func(ctx context.Context, c net.Conn) context.Context {
				if bc, ok := c.(*bufferedConn); ok && bc.peer != nil {
					return context.WithValue(ctx, peerKey{}, bc.peer)
				}
				return ctx
			},
			ConnState: func(c net.Conn, st http.ConnState) {
				bc, ok := c.(*bufferedConn)
				if !ok {
					return
				}
				switch st {
				case http.StateActive:
					s.setBusy(bc.Conn, true)
				case http.StateIdle:
					s.setBusy(bc.Conn, false)
				case http.StateClosed, http.StateHijacked:
					s.untrack(bc.Conn)
				}
			},
		}
		h1, ln := s.h1, s.h1ln
		s.mu.Unlock()
		go func() { _ = h1.Serve(ln) }()
	})
	c.peer = peer
	if !s.h1ln.push(c) {
		c.Close()
		s.untrack(c.Conn)
	}
}

func (s *Server) maxHeader() int {
	if s.MaxHeaderBytes > 0 {
		return s.MaxHeaderBytes
	}
	return defaultMaxHeaderBytes
}

// bufferedConn is a connection whose first bytes were already read into r.
type bufferedConn struct {
	net.Conn
	r    *bufio.Reader
	peer *peercred.Creds
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// chanListener feeds connections to an http.Server.
type chanListener struct {
	ch     chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newChanListener() *chanListener {
	return &chanListener{ch: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *chanListener) push(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.closed:
		return false
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return &net.UnixAddr{Name: "httpipc", Net: "unix"} }

func tokenByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}

func peerString(p *peercred.Creds) string {
	if p == nil {
		return "unknown"
	}
	return p.String()
}

func uidOf(p *peercred.Creds) int {
	if p == nil {
		return -1
	}
	return p.UID
}

func pidOf(p *peercred.Creds) int {
	if p == nil {
		return -1
	}
	return p.PID
}

var _ io.Reader = (*bufferedConn)(nil)
