package httpipc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"

	"github.com/httpipc/httpipc/activation"
	"github.com/httpipc/httpipc/address"
	"github.com/httpipc/httpipc/peercred"
	"github.com/httpipc/httpipc/servicedir"
	"github.com/httpipc/httpipc/transport"
)

// ErrNotRunning means nothing listens at the service's address and the
// provider could not be started on demand.
var ErrNotRunning = errors.New("httpipc: provider not running")

// dialer remembers what a Transport resolved its Service to.
type dialer struct {
	addr   address.Address
	fdOnce sync.Once
}

// dial opens a new connection to the provider and checks its identity.
func (t *Transport) dial(ctx context.Context) (net.Conn, error) {
	var nc net.Conn
	var err error
	policy := t.Provider
	if t.DialContext != nil {
		nc, err = t.DialContext(ctx)
	} else {
		t.once.Do(func() {
			var a address.Address
			if a, t.dialErr = address.Parse(t.Service); t.dialErr == nil {
				t.dialer = &dialer{addr: a}
			}
		})
		if t.dialErr != nil {
			return nil, fmt.Errorf("httpipc: %w", t.dialErr)
		}
		var entry *servicedir.Entry
		nc, entry, err = t.dialer.dial(ctx, t)
		if policy == nil && entry != nil && entry.UID != nil {
			policy = AllowUIDs(*entry.UID)
		}
	}
	if err != nil {
		return nil, err
	}
	if policy == nil {
		policy = SameUserOrRoot()
	}
	creds, cerr := peercred.Get(nc)
	if cerr != nil && !errors.Is(cerr, peercred.ErrNotSupported) {
		nc.Close()
		return nil, fmt.Errorf("%w: reading peer credentials: %w", ErrProviderIdentity, cerr)
	}
	if err := policy(creds); err != nil {
		nc.Close()
		return nil, fmt.Errorf("%w: %s: %w", ErrProviderIdentity, t.Service, err)
	}
	return nc, nil
}

func (d *dialer) dial(ctx context.Context, t *Transport) (net.Conn, *servicedir.Entry, error) {
	a := d.addr
	switch a.Kind {
	case address.Name:
		e, err := t.Directory.Lookup(a.Name)
		if err != nil {
			return nil, nil, fmt.Errorf("httpipc: %w", err)
		}
		nc, err := dialSocket(ctx, e.Socket)
		if err == nil || !transport.IsNotRunning(err) {
			return nc, e, wrapDial(err, a)
		}
		if t.DisableStart || len(e.Exec) == 0 {
			return nil, e, fmt.Errorf("%w: %s at %s (%w), and its entry %s cannot start it", ErrNotRunning, a, e.Socket, err, e.File)
		}
		if err := activation.Launch(ctx, e); err != nil {
			return nil, e, fmt.Errorf("%w: starting %s: %w", ErrNotRunning, a, err)
		}
		nc, err = dialSocket(ctx, e.Socket)
		return nc, e, wrapDial(err, a)
	case address.FD:
		// A descriptor is one connection; it cannot be dialled twice.
		var nc net.Conn
		err := fmt.Errorf("httpipc: %s was already used for a connection", a)
		d.fdOnce.Do(func() { nc, err = transport.FileConn(a.FD) })
		return nc, nil, err
	}
	nc, err := dialSocket(ctx, a)
	return nc, nil, wrapDial(err, a)
}

func dialSocket(ctx context.Context, a address.Address) (net.Conn, error) {
	switch a.Kind {
	case address.Unix:
		return transport.DialUnix(ctx, a.Path)
	case address.Abstract:
		return transport.DialUnix(ctx, "@"+a.Path)
	case address.Pipe:
		return transport.DialPipe(ctx, a.Path)
	}
	switch a.Kind {
	case address.DBus:
		return nil, fmt.Errorf("httpipc: %s: D-Bus providers are reached through package dbusipc (dbusipc.Client.Dial as DialContext), or with httpipc call", a)
	case address.XPC:
		return nil, fmt.Errorf("httpipc: %s: XPC providers are reached by the app's Swift host code (docs/XPC.md), which hands this package a descriptor or messages", a)
	}
	return nil, fmt.Errorf("httpipc: cannot dial %s", a)
}

func wrapDial(err error, a address.Address) error {
	switch {
	case err == nil:
		return nil
	case transport.IsNotRunning(err):
		return fmt.Errorf("%w: nothing listens at %s: %w", ErrNotRunning, a, err)
	}
	return fmt.Errorf("httpipc: dial %s: %w", a, err)
}

// Listen returns the listener a provider serves on. When the process was
// started by socket activation (systemd, or an httpipc client starting it
// on demand) it returns the inherited socket and addr only documents where
// clients look. Otherwise it creates the socket addr names: a Unix socket
// file in a 0700 directory with mode 0600, replacing a stale socket but never
// one a running provider listens on; "fd:N" uses an inherited listening
// descriptor; a service name listens where its service-directory entry, or
// the default runtime path, says.
func Listen(addr string) (net.Listener, error) {
	lns, err := activation.Listeners()
	if err != nil {
		return nil, fmt.Errorf("httpipc: socket activation: %w", err)
	}
	if len(lns) > 0 {
		for _, extra := range lns[1:] {
			extra.Close()
		}
		if ul, ok := lns[0].(*net.UnixListener); ok {
			return transport.NewUnixListener(ul, activation.Launched()), nil
		}
		return lns[0], nil
	}
	a, err := address.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("httpipc: %w", err)
	}
	return listenAddress(a, servicedir.Directory{})
}

func listenAddress(a address.Address, dir servicedir.Directory) (net.Listener, error) {
	switch a.Kind {
	case address.Unix:
		return transport.ListenUnix(a.Path)
	case address.Abstract:
		return transport.ListenUnix("@" + a.Path)
	case address.FD:
		return transport.FileListener(a.FD)
	case address.Pipe:
		return transport.ListenPipe(a.Path)
	case address.Name:
		e, err := dir.Lookup(a.Name)
		if err != nil {
			if !errors.Is(err, servicedir.ErrNotFound) {
				return nil, fmt.Errorf("httpipc: %w", err)
			}
			return listenAddress(servicedir.DefaultSocket(a.Name, nil), dir)
		}
		return listenAddress(e.Socket, dir)
	}
	if a.Kind == address.DBus {
		return nil, fmt.Errorf("httpipc: %s: D-Bus providers are served by package dbusipc, or with httpipc serve", a)
	}
	return nil, fmt.Errorf("httpipc: cannot listen on %s", a)
}

// ListenAndServe listens on addr and serves handler to peers of the same
// user until the process ends.
func ListenAndServe(addr string, handler http.Handler) error {
	ln, err := Listen(addr)
	if err != nil {
		return err
	}
	return (&Server{Handler: handler}).Serve(ln)
}
