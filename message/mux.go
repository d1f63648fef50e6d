package message

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

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

// Frame types of streams over messages (docs/PROTOCOL.md).
const (
	frameData   = 0 // payload: stream bytes
	frameFin    = 1 // the sender will send no more bytes on the stream
	frameReset  = 2 // the stream failed; payload: reason
	frameWindow = 3 // stream 0; payload: varint count of bytes consumed
)

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

// NewMux starts multiplexing streams over link. client says which end this
// is: the client opens streams (odd ids), the provider accepts them.
func NewMux(link Link, client bool, opt MuxOptions) *Mux {
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

func (m *Mux) sendFrame(typ byte, id, seq uint64, payload []byte) error {
	m.sendMu.Lock()
	defer m.sendMu.Unlock()
	b := append(m.sendBuf[:0], typ)
	b = bhttp.AppendVarint(b, id)
	b = bhttp.AppendVarint(b, seq)
	b = append(b, payload...)
	m.sendBuf = b
	return m.link.Send(b)
}

// parseFrame splits a frame into its parts.
func parseFrame(msg []byte) (typ byte, id, seq uint64, payload []byte, err error) {
	if len(msg) == 0 {
		return 0, 0, 0, nil, fmt.Errorf("%w: empty message", errProtocol)
	}
	typ = msg[0]
	if typ > frameWindow {
		return 0, 0, 0, nil, fmt.Errorf("%w: unknown frame type %d", errProtocol, typ)
	}
	r := sliceReader{msg[1:]}
	if id, err = bhttp.ReadVarint(&r); err == nil {
		seq, err = bhttp.ReadVarint(&r)
	}
	if err != nil {
		return 0, 0, 0, nil, fmt.Errorf("%w: truncated frame header", errProtocol)
	}
	if (typ == frameWindow) != (id == 0) {
		return 0, 0, 0, nil, fmt.Errorf("%w: frame type %d on stream %d", errProtocol, typ, id)
	}
	return typ, id, seq, r.b, nil
}

type sliceReader struct{ b []byte }

func (r *sliceReader) ReadByte() (byte, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c, nil
}

// stream is one byte stream of a Mux; it is a net.Conn.
type stream struct {
	m  *Mux
	id uint64

	in      [][]byte // received payloads, not yet read
	inLen   int      // bytes in in
	rseq    uint64   // next expected inbound frame
	wseq    uint64   // next outbound frame
	eof     bool     // peer sent FIN
	rclosed bool     // closed locally
	wclosed bool     // FIN sent
	err     error

	rdeadline, wdeadline time.Time
	rtimer, wtimer       *time.Timer

	wmu sync.Mutex // serializes writers
}

// broken fails the stream. m.mu is held.
func (s *stream) broken(err error) {
	if s.err == nil {
		s.err = err
	}
	s.m.cond.Broadcast()
}

// drop forgets the stream and credits what it held unread. m.mu is held.
func (s *stream) drop() {
	m := s.m
	m.inbuf -= s.inLen
	m.creditLocked(s.inLen)
	s.in, s.inLen = nil, 0
	delete(m.streams, s.id)
}

func (s *stream) Read(p []byte) (int, error) {
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	for s.inLen == 0 {
		switch {
		case s.rclosed:
			return 0, net.ErrClosed
		case s.err != nil:
			return 0, s.err
		case s.eof:
			return 0, io.EOF
		case !s.rdeadline.IsZero() && !time.Now().Before(s.rdeadline):
			return 0, os.ErrDeadlineExceeded
		}
		m.cond.Wait()
	}
	n := 0
	for n < len(p) && len(s.in) > 0 {
		k := copy(p[n:], s.in[0])
		n += k
		if s.in[0] = s.in[0][k:]; len(s.in[0]) == 0 {
			s.in[0] = nil
			s.in = s.in[1:]
		}
	}
	if len(s.in) == 0 {
		s.in = nil
	}
	s.inLen -= n
	m.inbuf -= n
	m.creditLocked(n)
	return n, nil
}

func (s *stream) Write(p []byte) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	m := s.m
	written := 0
	for len(p) > 0 {
		n := min(len(p), m.chunk)
		m.mu.Lock()
		for {
			switch {
			case s.rclosed || s.wclosed:
				m.mu.Unlock()
				return written, net.ErrClosed
			case s.err != nil:
				err := s.err
				m.mu.Unlock()
				return written, err
			case m.closed:
				err := m.closedErr()
				m.mu.Unlock()
				return written, err
			case !s.wdeadline.IsZero() && !time.Now().Before(s.wdeadline):
				m.mu.Unlock()
				return written, os.ErrDeadlineExceeded
			}
			if m.inflight+n <= m.opt.Window {
				break
			}
			m.cond.Wait()
		}
		m.inflight += n
		seq := s.wseq
		s.wseq++
		m.mu.Unlock()
		if err := m.sendFrame(frameData, s.id, seq, p[:n]); err != nil {
			m.fail(fmt.Errorf("message: link send: %w", err))
			return written, err
		}
		written += n
		p = p[n:]
	}
	return written, nil
}

// CloseWrite tells the peer no more bytes follow.
func (s *stream) CloseWrite() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	m := s.m
	m.mu.Lock()
	if s.wclosed || s.err != nil || m.closed {
		m.mu.Unlock()
		return nil
	}
	s.wclosed = true
	seq := s.wseq
	s.wseq++
	m.mu.Unlock()
	return m.sendFrame(frameFin, s.id, seq, nil)
}

// Close ends the stream in both directions; the peer reads the end of the
// stream, which the httpipc protocol takes as cancellation.
func (s *stream) Close() error {
	err := s.CloseWrite()
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if !s.rclosed {
		s.rclosed = true
		s.drop()
		m.cond.Broadcast()
	}
	return err
}

func (s *stream) LocalAddr() net.Addr  { return muxAddr{} }
func (s *stream) RemoteAddr() net.Addr { return muxAddr{} }

// PeerCreds reports the peer identity the host gave the Mux.
func (s *stream) PeerCreds() (*peercred.Creds, error) {
	if s.m.opt.Peer == nil {
		return nil, fmt.Errorf("%w: the channel did not report its peer", peercred.ErrNotSupported)
	}
	return s.m.opt.Peer, nil
}

func (s *stream) SetDeadline(t time.Time) error {
	s.SetReadDeadline(t)
	return s.SetWriteDeadline(t)
}

func (s *stream) SetReadDeadline(t time.Time) error {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.rdeadline = t
	s.rtimer = s.armTimer(s.rtimer, t)
	return nil
}

func (s *stream) SetWriteDeadline(t time.Time) error {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.wdeadline = t
	s.wtimer = s.armTimer(s.wtimer, t)
	return nil
}

// armTimer wakes waiters when deadline t passes. m.mu is held.
func (s *stream) armTimer(old *time.Timer, t time.Time) *time.Timer {
	if old != nil {
		old.Stop()
	}
	s.m.cond.Broadcast()
	if t.IsZero() {
		return nil
	}
	return time.AfterFunc(time.Until(t), func() {
		s.m.mu.Lock()
		s.m.cond.Broadcast()
		s.m.mu.Unlock()
	})
}

type muxAddr struct{}

func (muxAddr) Network() string { return "message" }
func (muxAddr) String() string  { return "message-mux" }
