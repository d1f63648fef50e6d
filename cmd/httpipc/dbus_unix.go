//go:build unix

package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/godbus/dbus/v5"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/dbusipc"
	"github.com/httpipc/httpipc/message"
)

// dbusClient returns a client for a provider on the session bus: requests
// go through a socket the provider hands over (descriptor handoff).
func dbusClient(name string) (*http.Client, func(), error) {
	bus, err := dbus.ConnectSessionBus()
	if err != nil {
		return nil, nil, fmt.Errorf("session bus: %w", err)
	}
	c := &dbusipc.Client{Conn: bus, Name: name}
	return &http.Client{Transport: &httpipc.Transport{DialContext: c.Dial}}, func() { bus.Close() }, nil
}

// serveDBus serves h under name on the session bus until ctx ends; the bus
// starts this command on demand when a .service file names it.
func serveDBus(ctx context.Context, name string, h http.Handler, policy httpipc.Policy, log *slog.Logger) error {
	bus, err := dbus.ConnectSessionBus()
	if err != nil {
		return fmt.Errorf("session bus: %w", err)
	}
	defer bus.Close()
	p := &dbusipc.Provider{
		Messages: &message.Server{Handler: h, Policy: policy, Logger: log},
		Streams:  &httpipc.Server{Handler: h, Policy: policy, Logger: log},
	}
	log.Info("serving on the session bus", "name", name)
	return p.Serve(ctx, bus, name)
}
