//go:build unix

package dbusipc

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"

	"github.com/godbus/dbus/v5"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/message"
	"github.com/httpipc/httpipc/peercred"
)

// Client reaches a provider by bus name. Before each request it resolves
// the name to the unique connection name of its owner, asking the bus to
// start the provider (StartServiceByName) when nobody owns the name, checks
// the owner's credentials against Provider, and only then calls the unique
// name, never the well-known one: no request reaches an owner that was not
// checked, and if the name changes owner in between, the call fails rather
// than reach the new owner.
type Client struct {
	Conn *dbus.Conn
	Name string
	// Provider decides whether the name's owner is the expected provider.
	// Nil means httpipc.SameUserOrRoot.
	Provider httpipc.Policy
	// MaxMessageSize bounds message-mode messages. Zero means
	// message.DefaultMaxMessageSize.
	MessageLimit int

	mu      sync.Mutex
	checked string // the last owner whose credentials Provider admitted
	creds   *peercred.Creds
}

// owner returns the unique name of the provider that owns c.Name, started
// on demand, once its credentials passed c.Provider. Unique names are never
// reused, so an owner that passed once needs no second check.
func (c *Client) owner(ctx context.Context) (string, *peercred.Creds, error) {
	bus := c.Conn.BusObject()
	var owner string
	err := bus.CallWithContext(ctx, "org.freedesktop.DBus.GetNameOwner", 0, c.Name).Store(&owner)
	if err != nil {
		var started uint32
		if serr := bus.CallWithContext(ctx, "org.freedesktop.DBus.StartServiceByName", 0, c.Name, uint32(0)).Store(&started); serr != nil {
			return "", nil, fmt.Errorf("dbusipc: %s: nobody owns the name (%v) and the bus cannot start it: %w", c.Name, err, serr)
		}
		if err := bus.CallWithContext(ctx, "org.freedesktop.DBus.GetNameOwner", 0, c.Name).Store(&owner); err != nil {
			return "", nil, fmt.Errorf("dbusipc: %s: %w", c.Name, err)
		}
	}
	c.mu.Lock()
	if owner == c.checked {
		creds := c.creds
		c.mu.Unlock()
		return owner, creds, nil
	}
	c.mu.Unlock()
	creds, err := Credentials(c.Conn, owner)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %s: %v", httpipc.ErrProviderIdentity, c.Name, err)
	}
	pol := c.Provider
	if pol == nil {
		pol = httpipc.SameUserOrRoot()
	}
	if err := pol(creds); err != nil {
		return "", nil, fmt.Errorf("%w: %s (%s): %v", httpipc.ErrProviderIdentity, c.Name, owner, err)
	}
	c.mu.Lock()
	c.checked, c.creds = owner, creds
	c.mu.Unlock()
	return owner, creds, nil
}

// Call sends one message-mode request; Client is a message.Channel.
func (c *Client) Call(ctx context.Context, req []byte) ([]byte, error) {
	owner, _, err := c.owner(ctx)
	if err != nil {
		return nil, err
	}
	var out []byte
	err = c.Conn.Object(owner, Path).CallWithContext(ctx, Interface+".Call", dbus.FlagNoAutoStart, req).Store(&out)
	if err != nil {
		return nil, fmt.Errorf("dbusipc: %s (%s): %w", c.Name, owner, err)
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
	owner, creds, err := c.owner(ctx)
	if err != nil {
		return nil, err
	}
	var fd dbus.UnixFD
	err = c.Conn.Object(owner, Path).CallWithContext(ctx, Interface+".Connect", dbus.FlagNoAutoStart).Store(&fd)
	if err != nil {
		return nil, fmt.Errorf("dbusipc: %s (%s): %w", c.Name, owner, err)
	}
	f := os.NewFile(uintptr(fd), "httpipc-stream")
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("dbusipc: handed-over descriptor: %w", err)
	}
	return httpipc.ConnWithPeer(nc, creds), nil
}

var _ message.Channel = (*Client)(nil)

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
	return message.ClientMux(l, opt), nil
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
	current, creds, err := c.owner(ctx)
	if err != nil {
		unexport()
		return nil, nil, err
	}
	var owner string
	err = c.Conn.Object(current, Path).CallWithContext(ctx, Interface+".Open", dbus.FlagNoAutoStart, path).Store(&owner)
	if err != nil {
		unexport()
		return nil, nil, fmt.Errorf("dbusipc: %s (%s): open link: %w", c.Name, current, err)
	}
	l.setPeer(owner)
	fail := func(err error) (message.Link, *peercred.Creds, error) {
		l.Close()
		unexport()
		return nil, nil, err
	}
	if owner != current {
		return fail(fmt.Errorf("%w: %s: Open answered %q, but it was sent to %q", httpipc.ErrProviderIdentity, c.Name, owner, current))
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
