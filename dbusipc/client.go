//go:build unix

package dbusipc

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"

	"github.com/godbus/dbus/v5"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/message"
	"github.com/httpipc/httpipc/peercred"
)

// Client reaches a provider by bus name. Calling the name makes the bus
// start the provider when a .service file names it.
type Client struct {
	Conn *dbus.Conn
	Name string
	// Provider decides whether the name's owner is the expected provider.
	// Nil means httpipc.SameUserOrRoot.
	Provider httpipc.Policy
	// MaxMessageSize bounds message-mode messages. Zero means
	// message.DefaultMaxMessageSize.
	MessageLimit int
}

func (c *Client) check() error {
	creds, err := Credentials(c.Conn, c.Name)
	if err != nil {
		// The name has no owner yet: the call itself will start it.
		return nil
	}
	pol := c.Provider
	if pol == nil {
		pol = httpipc.SameUserOrRoot()
	}
	if err := pol(creds); err != nil {
		return fmt.Errorf("%w: %s: %v", httpipc.ErrProviderIdentity, c.Name, err)
	}
	return nil
}

// Call sends one message-mode request; Client is a message.Channel.
func (c *Client) Call(ctx context.Context, req []byte) ([]byte, error) {
	var out []byte
	err := c.Conn.Object(c.Name, Path).CallWithContext(ctx, Interface+".Call", 0, req).Store(&out)
	if err != nil {
		return nil, fmt.Errorf("dbusipc: %s: %w", c.Name, err)
	}
	// Checked after the call, which may have started the provider.
	if err := c.check(); err != nil {
		return nil, err
	}
	return out, nil
}

// MaxMessageSize reports the message-mode size limit.
func (c *Client) MaxMessageSize() int {
	if c.MessageLimit > 0 {
		return c.MessageLimit
	}
	return message.DefaultMaxMessageSize
}

// Dial asks the provider for a connection of the stream protocol, handed
// over as a descriptor. Use it as an httpipc.Transport's DialContext.
func (c *Client) Dial(ctx context.Context) (net.Conn, error) {
	var fd dbus.UnixFD
	err := c.Conn.Object(c.Name, Path).CallWithContext(ctx, Interface+".Connect", 0).Store(&fd)
	if err != nil {
		return nil, fmt.Errorf("dbusipc: %s: %w", c.Name, err)
	}
	f := os.NewFile(uintptr(fd), "httpipc-stream")
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("dbusipc: handed-over descriptor: %w", err)
	}
	creds, err := Credentials(c.Conn, c.Name)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return &credConn{Conn: nc, creds: creds, handed: -1}, nil
}

var _ message.Channel = (*Client)(nil)
var _ peercred.Conn = (*credConn)(nil)

// Mux opens a link for streams over messages (docs/PROTOCOL.md, section
// 8c), for a bus that cannot pass descriptors: its messages travel as
// one-way method calls. Use the Mux's Open as an httpipc.Transport's
// DialContext, and close the Mux when done. Like Call, Mux makes the bus
// start the provider. When the provider leaves the bus the link fails, and
// with it every stream on it, with ErrPeerGone. opt.Peer is set to the
// provider's identity as the bus reports it.
func (c *Client) Mux(ctx context.Context, opt message.MuxOptions) (*message.Mux, error) {
	l, creds, err := c.link(ctx)
	if err != nil {
		return nil, err
	}
	opt.Peer = creds
	return message.NewMux(l, true, opt), nil
}

func (c *Client) link(ctx context.Context) (message.Link, *peercred.Creds, error) {
	path := dbus.ObjectPath(fmt.Sprintf("/org/httpipc/Link/l%016x", rand.Uint64()))
	l := newBusLink(c.Conn, "", path, true, c.MaxMessageSize())
	methods := map[string]any{
		"Frame": func(sender dbus.Sender, seq uint64, msg []byte) *dbus.Error {
			if l.from(string(sender)) {
				l.deliver(seq, msg)
			}
			return nil
		},
		"Close": func(sender dbus.Sender) *dbus.Error {
			if l.from(string(sender)) {
				l.gone(fmt.Errorf("dbusipc: %s closed the link: %w", c.Name, net.ErrClosed))
			}
			return nil
		},
	}
	if err := c.Conn.ExportMethodTable(methods, path, LinkInterface); err != nil {
		return nil, nil, fmt.Errorf("dbusipc: export link: %w", err)
	}
	unexport := func() { c.Conn.Export(nil, path, LinkInterface) }
	var owner, current string
	err := c.Conn.Object(c.Name, Path).CallWithContext(ctx, Interface+".Open", 0, path).Store(&owner)
	if err == nil {
		err = c.Conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetNameOwner", 0, c.Name).Store(&current)
	}
	if err != nil {
		unexport()
		return nil, nil, fmt.Errorf("dbusipc: %s: open link: %w", c.Name, err)
	}
	l.setPeer(owner)
	fail := func(err error) (message.Link, *peercred.Creds, error) {
		l.Close()
		unexport()
		return nil, nil, err
	}
	if owner != current {
		return fail(fmt.Errorf("%w: %s: Open answered %q, but the name's owner is %q", httpipc.ErrProviderIdentity, c.Name, owner, current))
	}
	creds, err := Credentials(c.Conn, owner)
	if err != nil {
		return fail(err)
	}
	pol := c.Provider
	if pol == nil {
		pol = httpipc.SameUserOrRoot()
	}
	if err := pol(creds); err != nil {
		return fail(fmt.Errorf("%w: %s: %v", httpipc.ErrProviderIdentity, c.Name, err))
	}
	stop, err := watchOwner(c.Conn, owner, func() { l.gone(fmt.Errorf("%w: %s (%s)", ErrPeerGone, c.Name, owner)) })
	if err != nil {
		return fail(err)
	}
	l.onClose(func() {
		stop()
		unexport()
	})
	return l, creds, nil
}
