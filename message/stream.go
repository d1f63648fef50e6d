package message

import (
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/httpipc/httpipc/peercred"
)

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
