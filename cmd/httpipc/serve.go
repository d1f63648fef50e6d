package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/address"
	"github.com/httpipc/httpipc/internal/httpmsg"
)

func runServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "--listen ADDR --upstream URL [options]",
		"Serves an existing HTTP server over IPC: every request that arrives on ADDR, in the httpipc\n"+
			"protocol or as plain HTTP/1.1, is forwarded to URL, streaming both ways. When started by\n"+
			"socket activation (systemd, or an httpipc client), the inherited socket is used.", stderr)
	listen := fs.String("listen", "", "ipc-service address to listen on (required)")
	upstream := fs.String("upstream", "", "base URL of the HTTP server to forward to (required)")
	idle := fs.Duration("idle", 0, "exit after this long without requests (0: never)")
	var allowUIDs multiFlag
	fs.Var(&allowUIDs, "allow-uid", "also allow callers running as this uid (repeatable; default: same user only)")
	allowAny := fs.Bool("allow-any", false, "allow every caller that can open the socket")
	maxBody := fs.Int64("max-body", 0, "largest request body in bytes (0: no limit)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *listen == "" || *upstream == "" {
		return usagef("--listen and --upstream are required")
	}
	up, err := url.Parse(*upstream)
	if err != nil || (up.Scheme != "http" && up.Scheme != "https") || up.Host == "" {
		return usagef("--upstream %q is not an http:// or https:// URL", *upstream)
	}
	policy := httpipc.SameUser()
	if len(allowUIDs) > 0 {
		uids := make([]int, 0, len(allowUIDs))
		for _, s := range allowUIDs {
			uid, err := strconv.Atoi(s)
			if err != nil || uid < 0 {
				return usagef("--allow-uid %q is not a user id", s)
			}
			uids = append(uids, uid)
		}
		policy = httpipc.AnyOf(policy, httpipc.AllowUIDs(uids...))
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if *allowAny {
		log.Warn("--allow-any: every process that can open the socket may call the upstream")
		policy = httpipc.AllowAny()
	}
	// serve forwards what its caller sent: Go's transport would otherwise
	// ask the upstream for gzip when the caller did not ask for an encoding,
	// and decode the answer itself. A caller's own Accept-Encoding, and the
	// encoded response it gets, pass through untouched either way.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DisableCompression = true
	proxy := &httputil.ReverseProxy{
		Transport: transport,
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(up)
			r.SetXForwarded()
			// A caller admitted by the policy is a local process; keep the
			// RFC 7239 Forwarded field a localhost proxy adds, so that the
			// upstream can rebuild the URL the client saw.
			if fwd := r.In.Header.Values("Forwarded"); len(fwd) > 0 {
				r.Out.Header["Forwarded"] = fwd
			}
		},
		FlushInterval: -1, // stream responses as they come
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// serve's own failure is told apart from the upstream API's own
		// 502 by the httpipc-error field (docs/PROTOCOL.md, section 4).
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the caller went away
			}
			log.Warn("upstream failed", "method", r.Method, "path", r.URL.Path, "err", err)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set(httpmsg.ErrorField, httpmsg.CodeUpstream)
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, "httpipc serve: the upstream did not answer: %v\n", err)
		},
	}
	if name, ok := strings.CutPrefix(*listen, "dbus:"); ok {
		if _, err := address.Parse(*listen); err != nil {
			return usagef("%v", err)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return serveDBus(ctx, name, proxy, policy, log)
	}
	ln, err := httpipc.Listen(*listen)
	if err != nil {
		return err
	}
	srv := &httpipc.Server{Handler: proxy, Policy: policy, IdleTimeout: *idle, Logger: log, MaxRequestBodyBytes: *maxBody,
		InsecureAllowAnyUser: *allowAny}
	log.Info("serving", "listen", *listen, "socket", ln.Addr().String(), "upstream", up.String())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, httpipc.ErrIdle) {
			return nil
		}
		return err
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
		<-errc
		return nil
	}
}

var _ http.Handler = (*httputil.ReverseProxy)(nil)
