//go:build linux

package message

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/httpipc/httpipc/internal/httpmsg"
	"github.com/httpipc/httpipc/peercred"
)

// SeqPacketMax is the message size limit of SOCK_SEQPACKET channels, kept
// below the default socket send buffer so that every message is one packet.
const SeqPacketMax = 64 << 10

// ServeSeqPacket serves message mode on a Linux SOCK_SEQPACKET Unix socket,
// a kernel channel that keeps message boundaries as Binder does: each packet
// a client sends is one request message, each packet back one response.
// A peer the policy refuses gets one 403 response and is closed before
// anything is read from it; channels are bounded by srv's ConnIdleTimeout,
// MaxConns and MaxConnsPerUser (over a cap, a 503 response and the close).
// It returns when ln is closed.
func ServeSeqPacket(ln *net.UnixListener, srv *Server) error {
	lim := &channelLimits{max: capOr(srv.MaxConns, 1024), perUser: capOr(srv.MaxConnsPerUser, 256),
		open: map[int]int{}, refusers: make(chan struct{}, 16)}
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		peer, err := peercred.Get(c)
		if err != nil {
			peer = nil
		}
		uid := -1
		if peer != nil {
			uid = peer.UID
		}
		if !lim.acquire(uid) {
			// A few refusals at a time wait for the request they answer;
			// past that, channels are closed at once.
			select {
			case lim.refusers <- struct{}{}:
				go func() {
					refuseSeqPacket(c, errorResponse(http.StatusServiceUnavailable, httpmsg.CodeTooMany, "too many channels"))
					<-lim.refusers
				}()
			default:
				c.Close()
			}
			continue
		}
		go func() {
			defer lim.release(uid)
			serveSeqPacketConn(c, peer, srv)
		}()
	}
}

// refuseSeqPacket answers the first request on c, or the silence of a
// second, with resp and closes c. (Closing a channel with a request unread
// would reset it before the client reads the answer.)
func refuseSeqPacket(c *net.UnixConn, resp []byte) {
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	var b [1]byte
	_, _, _, _, _ = c.ReadMsgUnix(b[:], nil)
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Write(resp)
	c.Close()
}

// channelLimits counts open channels, in total and by uid.
type channelLimits struct {
	mu           sync.Mutex
	max, perUser int
	total        int
	open         map[int]int
	refusers     chan struct{} // bounds the refusals under way
}

func (l *channelLimits) acquire(uid int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && l.total >= l.max || l.perUser > 0 && l.open[uid] >= l.perUser {
		return false
	}
	l.total++
	l.open[uid]++
	return true
}

func (l *channelLimits) release(uid int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.open[uid]--; l.open[uid] == 0 {
		delete(l.open, uid)
	}
}

func capOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func serveSeqPacketConn(c *net.UnixConn, peer *peercred.Creds, srv *Server) {
	defer c.Close()
	if err := srv.policy()(peer); err != nil {
		srv.logger().Warn("message: peer refused", "peer", peer.String(), "reason", err)
		refuseSeqPacket(c, errorResponse(http.StatusForbidden, httpmsg.CodeForbidden, err.Error()))
		return
	}
	idle := srv.ConnIdleTimeout
	if idle == 0 {
		idle = 2 * time.Minute
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	max := min(srv.max(), SeqPacketMax)
	buf := make([]byte, max+1)
	for {
		if idle > 0 {
			_ = c.SetReadDeadline(time.Now().Add(idle))
		}
		n, _, flags, _, err := c.ReadMsgUnix(buf, nil)
		if err != nil || n == 0 {
			return
		}
		var out []byte
		if n > max || flags&msgTrunc != 0 {
			out = errorResponse(http.StatusRequestEntityTooLarge, httpmsg.CodeTooLarge, fmt.Sprintf("request message exceeds the limit of %d bytes", max))
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
