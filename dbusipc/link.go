//go:build unix

package dbusipc

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/httpipc/httpipc/message"
)

// LinkInterface is the interface of the object a client exports for each
// link, at the path that names the link (docs/PROTOCOL.md, section 12).
const LinkInterface = "org.httpipc.Link"

// Bounds of what a link holds for the reader. The bus delivers a
// connection's messages in order, but a library may dispatch method calls
// concurrently (godbus runs each in its own goroutine), so a link puts
// messages back in order by their sequence numbers. An honest peer never has
// more outstanding than the flow-control window of message.Mux (128 KiB by
// default) plus small control frames.
const (
	maxAhead    = 4096    // messages held beyond the next expected one
	maxHeld     = 4 << 20 // bytes held, counting msgOverhead per message
	msgOverhead = 64
)

// ErrPeerGone is wrapped by the error of a link, and so of every stream on
// it, whose other end left the bus.
var ErrPeerGone = errors.New("dbusipc: peer left the bus")

// busLink is a message.Link whose messages are one-way method calls on the
// bus. The side that opened it (the client) names it by an object path it
// exports; the provider sends to that path, the client sends to the
// provider's object with the path as the first argument.
type busLink struct {
	conn   *dbus.Conn
	peer   string // the unique name of the other end
	path   dbus.ObjectPath
	client bool
	max    int

	sendMu  sync.Mutex
	sendSeq uint64

	mu      sync.Mutex
	cond    *sync.Cond
	next    uint64
	held    map[uint64][]byte
	bytes   int
	got     bool  // a message arrived
	err     error // set once: no more messages are accepted
	drain   bool  // Recv returns the messages in order before err
	closers []func()
	once    sync.Once
}

func newBusLink(conn *dbus.Conn, peer string, path dbus.ObjectPath, client bool, max int) *busLink {
	l := &busLink{conn: conn, peer: peer, path: path, client: client, max: max, held: map[uint64][]byte{}}
	l.cond = sync.NewCond(&l.mu)
	return l
}

var errTooBig = errors.New("dbusipc: message larger than the link carries")

// Send implements message.Link.
func (l *busLink) Send(msg []byte) error {
	if len(msg) > l.max {
		return errTooBig
	}
	l.mu.Lock()
	err := l.err
	l.mu.Unlock()
	if err != nil {
		return err
	}
	if !l.conn.Connected() {
		return fmt.Errorf("dbusipc: %w", dbus.ErrClosed)
	}
	l.sendMu.Lock()
	defer l.sendMu.Unlock()
	seq := l.sendSeq
	l.sendSeq++
	var call *dbus.Call
	if l.client {
		call = l.conn.Object(l.peer, Path).Go(Interface+".Frame", dbus.FlagNoReplyExpected, nil, l.path, seq, msg)
	} else {
		call = l.conn.Object(l.peer, l.path).Go(LinkInterface+".Frame", dbus.FlagNoReplyExpected, nil, seq, msg)
	}
	if call.Err != nil {
		return fmt.Errorf("dbusipc: send: %w", call.Err)
	}
	return nil
}

func (l *busLink) setPeer(name string) {
	l.mu.Lock()
	l.peer = name
	l.mu.Unlock()
}

// from reports whether sender is the other end of the link.
func (l *busLink) from(sender string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.peer != "" && sender == l.peer
}

// deliver takes message seq from the peer.
func (l *busLink) deliver(seq uint64, msg []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return
	}
	l.got = true
	switch _, dup := l.held[seq]; {
	case len(msg) > l.max:
		l.failLocked(fmt.Errorf("dbusipc: link %s: message of %d bytes, over the %d-byte limit", l.path, len(msg), l.max), false)
	case seq < l.next || dup:
		l.failLocked(fmt.Errorf("dbusipc: link %s: message %d arrived twice", l.path, seq), false)
	case seq-l.next >= maxAhead:
		l.failLocked(fmt.Errorf("dbusipc: link %s: message %d is %d ahead of the next expected", l.path, seq, seq-l.next), false)
	case l.bytes+len(msg)+msgOverhead > maxHeld:
		l.failLocked(fmt.Errorf("dbusipc: link %s: peer sent more than %d bytes ahead of the reader", l.path, maxHeld), false)
	default:
		l.held[seq] = msg
		l.bytes += len(msg) + msgOverhead
		l.cond.Broadcast()
	}
}

// heard reports whether a message arrived from the peer.
func (l *busLink) heard() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.got
}

// Recv implements message.Link.
func (l *busLink) Recv() ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		if msg, ok := l.held[l.next]; ok && (l.err == nil || l.drain) {
			delete(l.held, l.next)
			l.next++
			l.bytes -= len(msg) + msgOverhead
			return msg, nil
		}
		if l.err != nil {
			return nil, l.err
		}
		l.cond.Wait()
	}
}

// MaxMessageSize implements message.Link.
func (l *busLink) MaxMessageSize() int { return l.max }

// Close implements message.Link: it tells the peer and releases the link.
func (l *busLink) Close() error {
	l.shut(net.ErrClosed, false, true)
	return nil
}

// gone ends the link because the peer closed it or left the bus; messages
// already received in order are still read first.
func (l *busLink) gone(err error) { l.shut(err, true, false) }

func (l *busLink) failLocked(err error, drain bool) {
	if l.err == nil {
		l.err, l.drain = err, drain
		l.cond.Broadcast()
	}
	go l.shut(err, drain, true)
}

func (l *busLink) shut(err error, drain, tell bool) {
	l.once.Do(func() {
		l.mu.Lock()
		if l.err == nil {
			l.err, l.drain = err, drain
		}
		closers := l.closers
		l.closers = nil
		l.cond.Broadcast()
		l.mu.Unlock()
		if tell && l.conn.Connected() {
			if l.client {
				l.conn.Object(l.peer, Path).Go(Interface+".Close", dbus.FlagNoReplyExpected, nil, l.path)
			} else {
				l.conn.Object(l.peer, l.path).Go(LinkInterface+".Close", dbus.FlagNoReplyExpected, nil)
			}
		}
		for _, f := range closers {
			f()
		}
	})
}

// onClose runs f when the link closes, or now if it has.
func (l *busLink) onClose(f func()) {
	l.mu.Lock()
	if l.err == nil {
		l.closers = append(l.closers, f)
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	f()
}

// watchOwner calls gone once name, a unique connection name, leaves the bus
// (or conn closes). Unique names are never reused, so the first
// NameOwnerChanged with an empty new owner is final. stop ends the watch.
func watchOwner(conn *dbus.Conn, name string, gone func()) (stop func(), err error) {
	match := []dbus.MatchOption{
		dbus.WithMatchSender("org.freedesktop.DBus"),
		dbus.WithMatchInterface("org.freedesktop.DBus"),
		dbus.WithMatchMember("NameOwnerChanged"),
		dbus.WithMatchArg(0, name),
	}
	if err := conn.AddMatchSignal(match...); err != nil {
		return nil, fmt.Errorf("dbusipc: watch %s: %w", name, err)
	}
	ch := make(chan *dbus.Signal, 8)
	conn.Signal(ch)
	done := make(chan struct{})
	var once sync.Once
	stop = func() {
		once.Do(func() {
			close(done)
			conn.RemoveSignal(ch)
			conn.RemoveMatchSignal(match...)
		})
	}
	go func() {
		for {
			select {
			case s, ok := <-ch:
				if !ok {
					gone()
					return
				}
				if s.Name == "org.freedesktop.DBus.NameOwnerChanged" && len(s.Body) == 3 && s.Body[0] == name && s.Body[2] == "" {
					gone()
					return
				}
			case <-done:
				return
			}
		}
	}()
	// The name may have left before the match rule was in place.
	var has bool
	if err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, name).Store(&has); err == nil && !has {
		go gone()
	}
	return stop, nil
}

// ErrTooManyLinks is wrapped by the error of an Open refused because the
// provider has Provider.MaxLinks links open.
var ErrTooManyLinks = errors.New("dbusipc: too many links")

// open starts the link that the caller names by its object path and returns
// this connection's unique name, to which the caller sends the link's frames.
func (p *Provider) open(sender dbus.Sender, path dbus.ObjectPath) (string, *dbus.Error) {
	creds, err := Credentials(p.conn, string(sender))
	if err != nil {
		return "", dbus.MakeFailedError(err)
	}
	key := linkKey{string(sender), path}
	max := p.MaxLinks
	if max <= 0 {
		max = defaultMaxLinks
	}
	perUser := p.MaxLinksPerUser
	if perUser == 0 {
		perUser = defaultMaxLinksPerUser
	}
	uid := creds.UID
	limit := message.DefaultMaxMessageSize
	if p.Messages != nil && p.Messages.MaxMessageSize > 0 {
		limit = p.Messages.MaxMessageSize
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		return "", dbus.MakeFailedError(errors.New("provider is shutting down"))
	default:
	}
	if _, dup := p.links[key]; dup {
		return "", dbus.MakeFailedError(fmt.Errorf("link %s is already open", path))
	}
	if len(p.links) >= max {
		return "", dbus.MakeFailedError(fmt.Errorf("%w: %d open", ErrTooManyLinks, len(p.links)))
	}
	if perUser > 0 && p.perUser[uid] >= perUser {
		return "", dbus.MakeFailedError(fmt.Errorf("%w: uid %d has %d open", ErrTooManyLinks, uid, p.perUser[uid]))
	}
	c := p.callers[key.sender]
	if c == nil {
		c = &caller{}
		c.stop, err = watchOwner(p.conn, key.sender, func() { p.callerGone(key.sender) })
		if err != nil {
			return "", dbus.MakeFailedError(err)
		}
		p.callers[key.sender] = c
	}
	l := newBusLink(p.conn, key.sender, path, false, limit)
	p.links[key] = l
	c.links++
	p.perUser[uid]++
	if d := p.silenceTimeout(); d > 0 {
		t := time.AfterFunc(d, func() {
			if !l.heard() {
				l.shut(fmt.Errorf("dbusipc: link %s: the caller sent nothing within %v", path, d), false, true)
			}
		})
		l.onClose(func() { t.Stop() })
	}
	l.onClose(func() {
		p.mu.Lock()
		delete(p.links, key)
		if p.perUser[uid]--; p.perUser[uid] == 0 {
			delete(p.perUser, uid)
		}
		c.links--
		last := c.links == 0 && p.callers[key.sender] == c
		if last {
			delete(p.callers, key.sender)
		}
		p.mu.Unlock()
		if last {
			c.stop()
		}
	})
	mux := message.ServerMux(l, message.MuxOptions{Peer: creds})
	go p.accept(mux)
	return p.conn.Names()[0], nil
}

// accept hands the streams of one link to the stream server.
func (p *Provider) accept(mux *message.Mux) {
	for {
		s, err := mux.Accept()
		if err != nil {
			return
		}
		if !p.serveConn(s) {
			return
		}
	}
}

func (p *Provider) lookup(sender dbus.Sender, path dbus.ObjectPath) *busLink {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.links[linkKey{string(sender), path}]
}

// frame takes one message of a link from its caller. Frames of links that
// are not open are dropped: they are late frames of a closed link.
func (p *Provider) frame(sender dbus.Sender, path dbus.ObjectPath, seq uint64, msg []byte) *dbus.Error {
	if l := p.lookup(sender, path); l != nil {
		l.deliver(seq, msg)
	}
	return nil
}

// closeLink is the caller closing a link.
func (p *Provider) closeLink(sender dbus.Sender, path dbus.ObjectPath) *dbus.Error {
	if l := p.lookup(sender, path); l != nil {
		l.gone(fmt.Errorf("dbusipc: caller closed link %s: %w", path, net.ErrClosed))
	}
	return nil
}

// callerGone closes the links of a caller that left the bus.
func (p *Provider) callerGone(sender string) {
	p.mu.Lock()
	var gone []*busLink
	for k, l := range p.links {
		if k.sender == sender {
			gone = append(gone, l)
		}
	}
	p.mu.Unlock()
	for _, l := range gone {
		l.gone(fmt.Errorf("%w: %s", ErrPeerGone, sender))
	}
}
