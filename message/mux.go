package message

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/httpipc/httpipc/bhttp"
	"github.com/httpipc/httpipc/peercred"
)

// Link is a message channel that carries messages both ways independently,
// for streams over messages: Binder oneway transactions through a Messenger,
// an XPC connection, a pair of D-Bus signals. Messages must arrive in the
// order they were sent; a Mux detects when they do not.
type Link interface {
	// Send delivers one message. It may block while the channel is full.
	// It must not keep msg after it returns: the caller reuses it.
	Send(msg []byte) error
	// Recv returns the next message, or an error once the link is closed.
	// The caller owns the returned slice.
	Recv() ([]byte, error)
	// MaxMessageSize is the largest message the link carries, in bytes.
	MaxMessageSize() int
	// Close closes the link; pending Send and Recv calls return errors.
	Close() error
}

// Defaults of MuxOptions.
const (
	DefaultChunkSize = 16 << 10
	DefaultWindow    = 128 << 10
	maxFrameHeader   = 1 + 8 + 8
	maxResetReason   = 512
)

// MuxOptions tune a Mux. The zero value is a good default.
type MuxOptions struct {
	// ChunkSize bounds the stream bytes in one message. Zero means 16 KiB;
	// it is lowered to fit the link's message size.
	ChunkSize int
	// Window bounds the stream bytes sent on the link and not yet
	// acknowledged, across all streams. Zero means 128 KiB.
	Window int
	// Peer is the identity of the process at the other end, as the host's
	// channel reports it (Binder calling uid, XPC audit token, D-Bus
	// credentials). Streams report it as their peer credentials.
	Peer *peercred.Creds
}

// ErrStreamBroken is wrapped by the error a stream returns when a message of
// it was lost, duplicated or reordered, or the peer reset it.
var ErrStreamBroken = errors.New("message: stream broken")

// Mux carries many byte streams over one Link, with flow control, so that
// the stream protocol of httpipc runs over a message channel: the provider
// serves Mux as a net.Listener with an httpipc.Server, the client dials
// streams with Open as an httpipc.Transport's DialContext. Requests then run
// concurrently and bodies of any size flow through bounded memory.
type Mux struct {
	link  Link
	opt   MuxOptions
	chunk int

	sendMu  sync.Mutex // serializes Send and guards sendBuf
	sendBuf []byte

	mu       sync.Mutex
	cond     *sync.Cond // signals every change: data, credit, deadlines, closing
	streams  map[uint64]*stream
	nextID   uint64
	inflight int // bytes sent and not yet credited
	pending  int // bytes received and consumed, not yet credited back
	inbuf    int // bytes received and not yet read, across streams
	accept   chan *stream
	closed   bool
	err      error
}

// ClientMux starts multiplexing streams over link as the client's end: it
// opens streams (odd ids) with Open, one for each connection it would have
// dialled (httpipc.Transport's DialContext).
func ClientMux(link Link, opt MuxOptions) *Mux { return newMux(link, true, opt) }

// ServerMux starts multiplexing streams over link as the provider's end: it
// accepts the client's streams, so it serves as a listener
// (httpipc.Server.Serve).
func ServerMux(link Link, opt MuxOptions) *Mux { return newMux(link, false, opt) }

func newMux(link Link, client bool, opt MuxOptions) *Mux {
	if opt.Window <= 0 {
		opt.Window = DefaultWindow
	}
	if opt.ChunkSize <= 0 {
		opt.ChunkSize = DefaultChunkSize
	}
	m := &Mux{link: link, opt: opt, streams: map[uint64]*stream{}, accept: make(chan *stream, 16)}
	m.chunk = min(opt.ChunkSize, link.MaxMessageSize()-maxFrameHeader, opt.Window)
	if client {
		m.nextID = 1
	}
	m.cond = sync.NewCond(&m.mu)
	go m.readLoop()
	return m
}

// Open starts a new stream to the provider.
func (m *Mux) Open(ctx context.Context) (net.Conn, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, m.closedErr()
	}
	if m.nextID%2 == 0 {
		return nil, errors.New("message: only the client end of a Mux opens streams")
	}
	id := m.nextID
	m.nextID += 2
	s := m.newStream(id)
	return s, nil
}

// Accept returns the next stream the client opened.
func (m *Mux) Accept() (net.Conn, error) {
	s, ok := <-m.accept
	if !ok {
		return nil, net.ErrClosed
	}
	return s, nil
}

// Addr names the mux as a listener address.
func (m *Mux) Addr() net.Addr { return muxAddr{} }

// Close closes the link and every stream.
func (m *Mux) Close() error {
	m.fail(net.ErrClosed)
	return m.link.Close()
}

func (m *Mux) closedErr() error {
	if m.err != nil {
		return m.err
	}
	return net.ErrClosed
}

func (m *Mux) newStream(id uint64) *stream {
	s := &stream{m: m, id: id}
	m.streams[id] = s
	return s
}

// fail ends the mux: streams see err.
func (m *Mux) fail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	m.closed, m.err = true, err
	for _, s := range m.streams {
		s.broken(err)
	}
	close(m.accept)
	m.cond.Broadcast()
}

func (m *Mux) readLoop() {
	for {
		msg, err := m.link.Recv()
		if err != nil {
			m.fail(fmt.Errorf("message: link closed: %w", err))
			return
		}
		if err := m.handle(msg); err != nil {
			m.fail(err)
			m.link.Close()
			return
		}
	}
}

// handle processes one frame; an error is fatal for the whole link.
func (m *Mux) handle(msg []byte) error {
	typ, id, seq, payload, err := parseFrame(msg)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if typ == frameWindow {
		r := sliceReader{payload}
		n, err := bhttp.ReadVarint(&r)
		if err != nil || len(r.b) != 0 || n > uint64(m.inflight) {
			return fmt.Errorf("%w: bad window update", errProtocol)
		}
		m.inflight -= int(n)
		m.cond.Broadcast()
		return nil
	}
	if typ == frameData && m.inbuf+len(payload) > m.opt.Window {
		return fmt.Errorf("%w: peer sent past the window of %d bytes", errProtocol, m.opt.Window)
	}
	s := m.streams[id]
	if s == nil {
		if typ != frameData || seq != 0 || m.nextID%2 == 1 || id%2 == 0 || m.closed {
			// A frame of a stream that is gone: credit its bytes and drop it.
			m.creditLocked(len(payload))
			return nil
		}
		s = m.newStream(id)
		select {
		case m.accept <- s:
		default:
			delete(m.streams, id)
			m.creditLocked(len(payload))
			go m.sendFrame(frameReset, id, 0, []byte("too many streams waiting to be accepted"))
			return nil
		}
	}
	if seq != s.rseq {
		what := "lost or reordered"
		if seq < s.rseq {
			what = "duplicated"
		}
		err := fmt.Errorf("%w: stream %d: frame %d arrived where %d was expected (%s)", ErrStreamBroken, id, seq, s.rseq, what)
		if seq > s.rseq {
			// A new frame: the sender counted its bytes. A duplicate's
			// bytes were counted once, with the original.
			m.creditLocked(len(payload))
		}
		s.broken(err)
		s.drop()
		go m.sendFrame(frameReset, id, 0, []byte(err.Error()))
		return nil
	}
	s.rseq++
	switch typ {
	case frameData:
		if s.rclosed || s.err != nil {
			m.creditLocked(len(payload))
			return nil
		}
		if len(payload) > 0 {
			// The frame is this Mux's now (Link.Recv): queue it, no copy.
			s.in = append(s.in, payload)
			s.inLen += len(payload)
			m.inbuf += len(payload)
		}
	case frameFin:
		s.eof = true
	case frameReset:
		reason := payload
		if len(reason) > maxResetReason {
			reason = reason[:maxResetReason]
		}
		s.broken(fmt.Errorf("%w: peer reset stream %d: %s", ErrStreamBroken, id, reason))
		s.drop()
	default:
		return fmt.Errorf("%w: unknown frame type %d", errProtocol, typ)
	}
	m.cond.Broadcast()
	return nil
}

var errProtocol = errors.New("message: streams-over-messages protocol error")

// creditLocked records consumed bytes and sends a window update once a
// quarter of the window has been consumed. m.mu is held.
func (m *Mux) creditLocked(n int) {
	m.pending += n
	if m.pending >= m.opt.Window/4 {
		credit := m.pending
		m.pending = 0
		go m.sendFrame(frameWindow, 0, 0, bhttp.AppendVarint(nil, uint64(credit)))
	}
}

type muxAddr struct{}

func (muxAddr) Network() string { return "message" }
func (muxAddr) String() string  { return "message-mux" }
