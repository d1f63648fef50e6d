//go:build !unix

package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/httpipc/httpipc"
)

var errNoDBus = errors.New("dbus: addresses need a Unix system")

func dbusClient(string) (*http.Client, func(), error) { return nil, nil, errNoDBus }

func serveDBus(context.Context, string, http.Handler, httpipc.Policy, *slog.Logger) error {
	return errNoDBus
}
