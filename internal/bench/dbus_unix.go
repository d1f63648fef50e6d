//go:build unix

package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/dbusipc"
	"github.com/httpipc/httpipc/internal/testbus"
	"github.com/httpipc/httpipc/message"
)

// busName is the name the benchmark provider owns on the private bus.
const busName = "org.httpipc.Bench"

// startBus runs a private bus for the D-Bus contenders and returns its
// address; none when dbus-daemon is not installed, and those contenders are
// left out.
func startBus() (addr string, stop func(), err error) {
	b, err := testbus.Launch(nil)
	if errors.Is(err, testbus.ErrNoDaemon) {
		return "", func() {}, nil
	}
	if err != nil {
		return "", nil, err
	}
	return b.Addr, b.Close, nil
}

// serveBus makes the provider process serve on the bus named by busEnv.
func serveBus() (string, error) {
	addr := os.Getenv(busEnv)
	if addr == "" {
		return "", nil
	}
	conn, err := dbus.Connect(addr)
	if err != nil {
		return "", err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := &dbusipc.Provider{
		Messages: &message.Server{Handler: Handler(), Logger: quiet},
		Streams:  &httpipc.Server{Handler: Handler(), Logger: quiet},
	}
	errc := make(chan error, 1)
	go func() { errc <- p.Serve(context.Background(), conn, busName) }()
	// Serve owns the name before it serves: wait for either.
	for {
		var owner string
		if conn.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, busName).Store(&owner) == nil {
			return busName, nil
		}
		select {
		case err := <-errc:
			return "", fmt.Errorf("serving on the bus: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
}

// dbusContenders returns the clients that reach the provider over the bus.
func dbusContenders(ctx context.Context, addr, name string) (map[string]*http.Client, func(), error) {
	conn, err := dbus.Connect(addr)
	if err != nil {
		return nil, nil, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	c := &dbusipc.Client{Conn: conn, Name: name}
	mux, err := c.Mux(ctx, message.MuxOptions{})
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	clients := map[string]*http.Client{
		MessageDBus:  {Transport: &message.Transport{Channel: c}},
		DBusMessages: {Transport: &httpipc.Transport{DialContext: mux.Open, Logger: quiet, MaxIdleConns: 128}},
		DBusFD:       {Transport: &httpipc.Transport{DialContext: c.Dial, Logger: quiet, MaxIdleConns: 128}},
	}
	return clients, func() {
		mux.Close()
		conn.Close()
	}, nil
}
