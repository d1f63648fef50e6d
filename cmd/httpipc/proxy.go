package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
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
			"(started on demand), so that web views, SDKs and curl reach its API at a base URL. The\n"+
			"provider sees this command's user, so by default only that user's processes are\n"+
			"admitted: on Linux the owner of each TCP connection is looked up (sock_diag), a unix:PATH\n"+
			"socket is created with mode 0600 and its peer's user is checked. Where the user cannot\n"+
			"be looked up (TCP on macOS, Windows and others) a fresh random secret is required\n"+
			"instead, as the first path segment of the printed URL. --allow-other-users admits every\n"+
			"local user; --secret requires the secret in addition to the user check. It also refuses\n"+
			"requests whose Host is not its own address and cross-origin requests from origins not\n"+
			"allowed, each with a one-line 4xx reason. With --print-url it prints the base URL (with\n"+
			"its secret) once it takes requests; logs never show the secret.", stderr)
	service := fs.String("service", "", "ipc-service address of the provider (required)")
	listen := fs.String("listen", "127.0.0.1:0", "loopback host:port to listen on (port 0: a free one), or unix:PATH")
	printURL := fs.Bool("print-url", false, "print the base URL on standard output once ready")
	var origins multiFlag
	fs.Var(&origins, "allow-origin", "let pages of this origin call from another origin, e.g. https://app.example (repeatable)")
	secret := fs.Bool("secret", false, "also require a fresh random secret as the first path segment or Httpipc-Secret header (it is in the printed URL)")
	allowOthers := fs.Bool("allow-other-users", false, "admit connections from every local user, not only this one's processes (they act as this user towards the provider)")
	host := fs.String("host", "", "Host header the provider sees (default: the proxy's own address)")
	timeout := fs.Duration("timeout", 0, "bound on each request (0: none)")
	if err := parseFlags(fs, args); err != nil {
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
		Service:         *service,
		Host:            *host,
		AllowOrigins:    origins,
		AllowOtherUsers: *allowOthers,
		Timeout:         *timeout,
		Logger:          log,
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
	base := p.BaseURL(ln.Addr())
	// The socket is listening: requests wait in its backlog until Serve
	// takes them, so the URL is usable from now on.
	if *printURL {
		fmt.Fprintln(stdout, base)
	}
	if logged := redactURL(base); logged != base && !*printURL {
		log.Info("proxy ready", "url", logged, "service", *service, "hint", "--print-url prints the URL with its secret")
	} else {
		log.Info("proxy ready", "url", logged, "service", *service)
	}
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

// redactURL replaces a secret first path segment of a base URL, which logs
// must not show.
func redactURL(base string) string {
	u, err := url.Parse(base)
	if err != nil || u.Path == "" || u.Path == "/" {
		return base
	}
	u.Path = "/REDACTED"
	return u.String()
}
