package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/oauth/authserver"
)

func runAuth(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "serve":
			return runAuthServe(args[1:], stdout, stderr)
		case "client":
			if len(args) > 1 && args[1] == "add" {
				return runAuthClientAdd(args[2:], stdout, stderr)
			}
			if len(args) > 1 && args[1] == "list" {
				return runAuthClientList(args[2:], stdout, stderr)
			}
		}
	}
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		authUsage(stdout)
		return nil
	}
	authUsage(stderr)
	return usagef("want 'serve', 'client add' or 'client list'")
}

func authUsage(w io.Writer) {
	fmt.Fprint(w, `Usage:
  httpipc auth serve --listen ADDR --db FILE [--issuer URL] [--consent web|prompt|allow-all] [--http HOST:PORT] [--allow-other-users]
  httpipc auth client add --db FILE --id ID --redirect-uri URI... [--name NAME] [--scope S]... [--uid N] [--no-refresh]
  httpipc auth client list --db FILE

The authorization app of the offline OAuth flow (RFC 8252 with PKCE): registered native
clients, a consent step, and tokens in a SQLite file. Run 'httpipc auth serve --help'.
`)
}

func runAuthServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("auth serve", "--listen ADDR --db FILE [options]",
		"Runs the authorization server on the ipc-service ADDR (and with --http also on the network):\n"+
			"authorization, token and revocation endpoints and RFC 8414 metadata. The redirect of an\n"+
			"allowed request carries ipc-service=ADDR, so that the client redeems its code over IPC.\n"+
			"Connections are admitted from this user and from the uids of registered clients (--uid).", stderr)
	listen := fs.String("listen", "", "ipc-service address to serve on (required)")
	db := fs.String("db", "", "SQLite file of clients, grants and tokens (required; created if missing)")
	issuer := fs.String("issuer", "http://localhost", "the server's base URL as clients know it online")
	consent := fs.String("consent", "web", "who allows requests: web (a consent page), prompt (this terminal), allow-all (tests only)")
	httpAddr := fs.String("http", "", "also serve over HTTP on this address, e.g. 127.0.0.1:8080")
	subject := fs.String("subject", "user", "the user the tokens are for")
	allowOthers := fs.Bool("allow-other-users", false, "admit connections from every OS user, not only this one and the uids of registered clients\n(not on an abstract socket unix:@NAME, which no file permission guards)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *listen == "" || *db == "" {
		return usagef("--listen and --db are required")
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	opt := authserver.Options{Issuer: *issuer, IPCService: *listen, Subject: *subject, Logger: log}
	switch *consent {
	case "web":
	case "prompt":
		opt.Consent = authserver.Prompt(os.Stdin, stdout)
	case "allow-all":
		log.Warn("--consent=allow-all: EVERY authorization request is allowed without asking; use it only in tests")
		opt.Consent = authserver.AllowAll()
	default:
		return usagef("--consent %q is not web, prompt or allow-all", *consent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	store, err := authserver.Open(*db)
	if err != nil {
		return err
	}
	defer store.Close()
	srv, err := authserver.New(ctx, store, opt)
	if err != nil {
		return err
	}
	ln, err := httpipc.Listen(*listen)
	if err != nil {
		return err
	}
	// Only this user and the uids the registered clients name may connect;
	// the store is read at each connection of another user, so clients
	// added while the server runs are admitted.
	policy := store.ClientPolicy()
	if *allowOthers {
		log.Warn("--allow-other-users: every OS user may connect, ask for consent and redeem codes")
		policy = httpipc.AllowAny()
	}
	ipcSrv := &httpipc.Server{Handler: srv, Policy: policy, Logger: log}
	errc := make(chan error, 2)
	go func() { errc <- ipcSrv.Serve(ln) }()
	defer ipcSrv.Close()
	if *httpAddr != "" {
		hl, err := net.Listen("tcp", *httpAddr)
		if err != nil {
			return err
		}
		hs := &http.Server{Handler: srv, ReadHeaderTimeout: 30 * time.Second}
		go func() { errc <- hs.Serve(hl) }()
		defer hs.Close()
		log.Info("serving over HTTP", "addr", hl.Addr().String())
	}
	log.Info("authorization server ready", "listen", *listen, "issuer", *issuer, "consent", *consent)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return nil
	}
}

func runAuthClientAdd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("auth client add", "--db FILE --id ID --redirect-uri URI [options]",
		"Registers a public native client, or replaces the one with the same id. Redirect URIs\n"+
			"match exactly, except that a loopback one (http://127.0.0.1/path) takes any port.", stderr)
	db := fs.String("db", "", "SQLite file (required)")
	id := fs.String("id", "", "client id (required)")
	name := fs.String("name", "", "name shown on the consent page (default: the id)")
	var uris, scopes multiFlag
	fs.Var(&uris, "redirect-uri", "redirect URI (repeatable; at least one)")
	fs.Var(&scopes, "scope", "scope the client may ask for (repeatable)")
	uid := fs.Int("uid", -1, "OS user id the client app runs as: codes are then redeemed over IPC only by it")
	noRefresh := fs.Bool("no-refresh", false, "issue no refresh tokens to this client")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *db == "" || *id == "" || len(uris) == 0 {
		return usagef("--db, --id and --redirect-uri are required")
	}
	store, err := authserver.Open(*db)
	if err != nil {
		return err
	}
	defer store.Close()
	c := authserver.Client{ID: *id, Name: *name, RedirectURIs: uris, Scopes: scopes, NoRefresh: *noRefresh}
	if *uid >= 0 {
		c.UID = uid
	}
	if err := store.AddClient(context.Background(), c); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "client %s registered\n", *id)
	return nil
}

func runAuthClientList(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("auth client list", "--db FILE", "Lists the registered clients.", stderr)
	db := fs.String("db", "", "SQLite file (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *db == "" {
		return usagef("--db is required")
	}
	store, err := authserver.Open(*db)
	if err != nil {
		return err
	}
	defer store.Close()
	clients, err := store.Clients(context.Background())
	if err != nil {
		return err
	}
	for _, c := range clients {
		uid := "any"
		if c.UID != nil {
			uid = strconv.Itoa(*c.UID)
		}
		fmt.Fprintf(stdout, "%s\t%q\tuid=%s\tscopes=%s\tredirect=%s\n", c.ID, c.Name, uid, strings.Join(c.Scopes, ","), strings.Join(c.RedirectURIs, ","))
	}
	return nil
}
