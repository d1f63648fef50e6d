package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/httpipc/httpipc/address"
	"github.com/httpipc/httpipc/proxy"
)

func runProxy(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("proxy", "--service ADDR [--listen 127.0.0.1:0] [--print-url] [options]",
		"Runs a localhost HTTP server that forwards every request over IPC to the provider at ADDR\n"+
			"(started on demand), so that web views, SDKs and curl reach its API at a base URL. It\n"+
			"refuses requests whose Host is not its own address, cross-origin requests from origins\n"+
			"not allowed, and with --secret or --same-user requests without the secret or from\n"+
			"another user. With --print-url it prints the base URL once it takes requests.", stderr)
	service := fs.String("service", "", "ipc-service address of the provider (required)")
	listen := fs.String("listen", "127.0.0.1:0", "loopback host:port to listen on (port 0: a free one), or unix:PATH")
	printURL := fs.Bool("print-url", false, "print the base URL on standard output once ready")
	var origins multiFlag
	fs.Var(&origins, "allow-origin", "let pages of this origin call from another origin, e.g. https://app.example (repeatable)")
	secret := fs.Bool("secret", false, "require a fresh random secret as the first path segment (it is in the printed URL)")
	sameUser := fs.Bool("same-user", false, "admit only connections from this user's processes (Linux)")
	host := fs.String("host", "", "Host header the provider sees (default: the proxy's own address)")
	timeout := fs.Duration("timeout", 0, "bound on each request (0: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *service == "" {
		return usagef("--service is required")
	}
	if _, err := address.Parse(*service); err != nil {
		return usagef("--service: %v", err)
	}
	for _, o := range origins {
		if !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") || strings.Count(o, "/") != 2 {
			return usagef("--allow-origin %q is not an origin like https://app.example", o)
		}
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	p := &proxy.Proxy{
		Service:      *service,
		Host:         *host,
		AllowOrigins: origins,
		SameUser:     *sameUser,
		Timeout:      *timeout,
		Logger:       log,
	}
	if *secret {
		p.Secret = proxy.NewSecret()
	}
	if name, ok := strings.CutPrefix(*service, "dbus:"); ok {
		c, closeBus, err := dbusClient(name)
		if err != nil {
			return err
		}
		defer closeBus()
		p.Transport = c.Transport
	}
	ln, err := proxy.Listen(*listen)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- p.Serve(ln) }()
	url := p.BaseURL(ln.Addr())
	// The socket is listening: requests wait in its backlog until Serve
	// takes them, so the URL is usable from now on.
	if *printURL {
		fmt.Fprintln(stdout, url)
	}
	log.Info("proxy ready", "url", url, "service", *service)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		p.Shutdown(shutdownCtx)
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}
