//go:build unix

package dbusipc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/message"
	"github.com/httpipc/httpipc/peercred"
)

// The provider object.
const (
	Path      = dbus.ObjectPath("/org/httpipc/Provider")
	Interface = "org.httpipc.Provider"
)

// ErrNameTaken means another connection owns the bus name.
var ErrNameTaken = errors.New("dbusipc: bus name owned by another process")

// Credentials asks the bus who owns the connection name (a unique name such
// as ":1.42" or a well-known name).
func Credentials(conn *dbus.Conn, name string) (*peercred.Creds, error) {
	var m map[string]dbus.Variant
	err := conn.BusObject().Call("org.freedesktop.DBus.GetConnectionCredentials", 0, name).Store(&m)
	if err != nil {
		return nil, fmt.Errorf("dbusipc: credentials of %s: %w", name, err)
	}
	c := &peercred.Creds{PID: -1, UID: -1, GID: -1}
	if v, ok := m["UnixUserID"].Value().(uint32); ok {
		c.UID = int(v)
	}
	if v, ok := m["ProcessID"].Value().(uint32); ok {
		c.PID = int(v)
	}
	return c, nil
}

// Provider serves an API on a bus name.
type Provider struct {
	// Messages answers Call, in message mode.
	Messages *message.Server
	// Streams serves the connections handed out by Connect.
	Streams *httpipc.Server

	// MaxLinks bounds the links for streams over messages open at once,
	// across all callers. Zero means 256.
	MaxLinks int
	// MaxLinksPerUser bounds the links open at once for one user (the uid
	// the bus reports; callers whose uid is unknown count as one user), so
	// that one caller cannot take all of MaxLinks. Zero means 32; negative
	// means no bound but MaxLinks.
	MaxLinksPerUser int
	// SilenceTimeout bounds how long a caller may stay silent: a link that
	// has received no Frame that long after Open, and a socket handed out
	// by Connect on which no byte arrived that long, are closed, and this
	// process's copy of the caller's end of the socket is closed then at
	// the latest. Zero means 10 seconds; negative means no limit (the
	// Streams server's PrefaceTimeout still applies to the socket).
	SilenceTimeout time.Duration

	conn *dbus.Conn
	done chan struct{}

	mu      sync.Mutex
	links   map[linkKey]*busLink
	callers map[string]*caller
	perUser map[int]int // open links per uid
}

// Defaults of Provider's limits.
const (
	defaultMaxLinks        = 256
	defaultMaxLinksPerUser = 32
	defaultSilenceTimeout  = 10 * time.Second
)

func (p *Provider) silenceTimeout() time.Duration {
	if p.SilenceTimeout == 0 {
		return defaultSilenceTimeout
	}
	return p.SilenceTimeout
}

type linkKey struct {
	sender string
	path   dbus.ObjectPath
}

// caller is a client connection with open links, watched for leaving.
type caller struct {
	links int
	stop  func()
}

// Serve owns name on conn and serves until ctx ends or conn closes. When
// the name is already owned the error wraps ErrNameTaken.
func (p *Provider) Serve(ctx context.Context, conn *dbus.Conn, name string) error {
	if !conn.SupportsUnixFDs() {
		return errors.New("dbusipc: the bus connection cannot pass descriptors")
	}
	p.conn = conn
	p.done = make(chan struct{})
	p.links = map[linkKey]*busLink{}
	p.callers = map[string]*caller{}
	p.perUser = map[int]int{}
	methods := map[string]any{
		"Call":    p.call,
		"Connect": p.connect,
		"Open":    p.open,
		"Frame":   p.frame,
		"Close":   p.closeLink,
	}
	if err := conn.ExportMethodTable(methods, Path, Interface); err != nil {
		return fmt.Errorf("dbusipc: export: %w", err)
	}
	reply, err := conn.RequestName(name, dbus.NameFlagDoNotQueue)
	if err != nil {
		return fmt.Errorf("dbusipc: request name %s: %w", name, err)
	}
	if reply != dbus.RequestNameReplyPrimaryOwner && reply != dbus.RequestNameReplyAlreadyOwner {
		return fmt.Errorf("%w: %s", ErrNameTaken, name)
	}
	defer p.Streams.Close()
	select {
	case <-ctx.Done():
	case <-conn.Context().Done():
	}
	close(p.done)
	p.mu.Lock()
	links := make([]*busLink, 0, len(p.links))
	for _, l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	for _, l := range links {
		l.Close()
	}
	conn.ReleaseName(name)
	return nil
}

// call is the message-mode method.
func (p *Provider) call(sender dbus.Sender, req []byte) ([]byte, *dbus.Error) {
	creds, err := Credentials(p.conn, string(sender))
	if err != nil {
		creds = nil
	}
	return p.Messages.ServeMessage(p.conn.Context(), creds, req), nil
}

// connect hands the caller one end of a new socketpair and serves the
// stream protocol on the other.
func (p *Provider) connect(sender dbus.Sender) (dbus.UnixFD, *dbus.Error) {
	creds, err := Credentials(p.conn, string(sender))
	if err != nil {
		return -1, dbus.MakeFailedError(err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return -1, dbus.MakeFailedError(err)
	}
	unix.CloseOnExec(fds[0])
	unix.CloseOnExec(fds[1])
	f := os.NewFile(uintptr(fds[0]), "httpipc-stream")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		unix.Close(fds[1])
		return -1, dbus.MakeFailedError(err)
	}
	hc := &handedConn{Conn: c, handed: fds[1]}
	if d := p.silenceTimeout(); d > 0 {
		hc.silence = time.AfterFunc(d, hc.silent)
	}
	if !p.serveConn(httpipc.ConnWithPeer(hc, creds)) {
		return -1, dbus.MakeFailedError(errors.New("provider is shutting down"))
	}
	// The reply carries the descriptor; this process keeps its copy open
	// until the caller has surely received it (see handedConn).
	return dbus.UnixFD(fds[1]), nil
}

// serveConn serves the stream protocol on c, a connection whose peer the
// bus identified (the socketpair itself would name this process), unless
// the provider is shutting down; then it closes c and reports false.
func (p *Provider) serveConn(c net.Conn) bool {
	select {
	case <-p.done:
		c.Close()
		return false
	default:
	}
	go func() { _ = p.Streams.ServeConn(context.Background(), c) }()
	return true
}

// handedConn is the provider's end of a connection handed out by Connect
// (closing it also releases the caller's end). It holds the descriptor of
// the caller's end, which the bus reply carries: godbus sends the reply
// after the method returns and tells no one when, and closing the
// descriptor before the reply is written would send whatever file next
// takes its number. So the copy is closed once the caller's first byte
// proves the reply arrived, when the connection closes, or at the
// Provider's SilenceTimeout, whichever comes first; at the timeout a
// connection that is still silent is closed.
type handedConn struct {
	net.Conn
	handed  int         // the caller's end
	silence *time.Timer // closes a silent connection
	heard   atomic.Bool
	once    sync.Once
}

func (c *handedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && !c.heard.Swap(true) {
		c.stopSilence()
		c.release()
	}
	return n, err
}

func (c *handedConn) Close() error {
	c.stopSilence()
	c.release()
	return c.Conn.Close()
}

// stopSilence stops the silence timer. Read and Close run only after the
// connection was handed to the server, and so after the timer was set.
func (c *handedConn) stopSilence() {
	if c.silence != nil {
		c.silence.Stop()
	}
}

// silent runs at the SilenceTimeout.
func (c *handedConn) silent() {
	c.release()
	if !c.heard.Load() {
		c.Conn.Close()
	}
}

func (c *handedConn) release() {
	c.once.Do(func() { unix.Close(c.handed) })
}
