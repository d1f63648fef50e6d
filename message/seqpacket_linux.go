//go:build linux

package message

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/httpipc/httpipc/peercred"
)

// SeqPacketMax is the message size limit of SOCK_SEQPACKET channels, kept
// below the default socket send buffer so that every message is one packet.
const SeqPacketMax = 64 << 10

// ServeSeqPacket serves message mode on a Linux SOCK_SEQPACKET Unix socket,
// a kernel channel that keeps message boundaries as Binder does: each packet
// a client sends is one request message, each packet back one response.
// It returns when ln is closed.
func ServeSeqPacket(ln *net.UnixListener, srv *Server) error {
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		go serveSeqPacketConn(c, srv)
	}
}

func serveSeqPacketConn(c *net.UnixConn, srv *Server) {
	defer c.Close()
	peer, err := peercred.Get(c)
	if err != nil {
		peer = nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	max := min(srv.max(), SeqPacketMax)
	buf := make([]byte, max+1)
	for {
		n, _, flags, _, err := c.ReadMsgUnix(buf, nil)
		if err != nil || n == 0 {
			return
		}
		var out []byte
		if n > max || flags&msgTrunc != 0 {
			out = errorResponse(413, "too-large", fmt.Sprintf("request message exceeds the limit of %d bytes", max))
		} else {
			out = srv.ServeMessage(ctx, peer, buf[:n])
		}
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

// SeqPacketChannel is a Channel over a SOCK_SEQPACKET Unix socket. Calls
// on one channel are carried one at a time.
type SeqPacketChannel struct {
	mu  sync.Mutex
	c   *net.UnixConn
	buf []byte
}

// DialSeqPacket connects to a provider served by ServeSeqPacket at path.
func DialSeqPacket(ctx context.Context, path string) (*SeqPacketChannel, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unixpacket", path)
	if err != nil {
		return nil, err
	}
	return &SeqPacketChannel{c: c.(*net.UnixConn), buf: make([]byte, SeqPacketMax+1)}, nil
}

// Call sends req as one packet and returns the packet that answers it.
func (s *SeqPacketChannel) Call(ctx context.Context, req []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(req) > SeqPacketMax {
		return nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(req))
	}
	if d, ok := ctx.Deadline(); ok {
		s.c.SetDeadline(d)
	} else {
		s.c.SetDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { s.c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := s.c.Write(req); err != nil {
		return nil, err
	}
	n, _, flags, _, err := s.c.ReadMsgUnix(s.buf, nil)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errors.New("message: provider closed the channel")
	}
	if n > SeqPacketMax || flags&msgTrunc != 0 {
		return nil, fmt.Errorf("%w: response over %d bytes", ErrTooLarge, SeqPacketMax)
	}
	return append([]byte(nil), s.buf[:n]...), nil
}

// MaxMessageSize is SeqPacketMax.
func (s *SeqPacketChannel) MaxMessageSize() int { return SeqPacketMax }

// Close closes the channel.
func (s *SeqPacketChannel) Close() error { return s.c.Close() }
