//go:build unix

package dbusipc

import (
	"context"
	"fmt"
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
