package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"time"

	"golang.org/x/oauth2"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/oauth"
	"github.com/httpipc/httpipc/oauth/authclient"
	"github.com/httpipc/httpipc/proxy"
)

func runLogin(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("login", "--service ADDR --client-id ID [--scope S]...",
		"Logs in as a desktop client (RFC 8252 loopback redirect): reads the authorization server's\n"+
			"metadata over IPC, opens its consent page in a browser through a localhost proxy (or prints\n"+
			"the URL), waits for the redirect, redeems the code over IPC and prints the token and\n"+
			"ipc-service.\n\n"+
			"The proxy lets only the browser of this login reach the consent page: the URL carries a\n"+
			"one-time token that the first request trades for a session cookie (HttpOnly,\n"+
			"SameSite=Strict), which every later request needs; on Linux it also admits only this\n"+
			"user's processes. Other local users can read the URL (a command line is public), so if\n"+
			"the browser answers that the link was already used, stop: someone else opened it. The\n"+
			"proxy forwards the authorization endpoint only, never the token endpoint: tokens are\n"+
			"redeemed over IPC by this command, bound to its user.", stderr)
	service := fs.String("service", "", "ipc-service address of the authorization app (required)")
	clientID := fs.String("client-id", "", "registered client id (required)")
	var scopes multiFlag
	fs.Var(&scopes, "scope", "scope to ask for (repeatable)")
	browser := fs.String("browser", "", "command that opens the URL (default: print it only)")
	timeout := fs.Duration("timeout", 5*time.Minute, "how long to wait for the user")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *service == "" || *clientID == "" {
		return usagef("--service and --client-id are required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	ipc := httpipc.NewClient(*service)
	md, err := oauth.FetchMetadata(ctx, ipc, "")
	if err != nil {
		return err
	}
	// The browser reaches the authorization app through a localhost proxy
	// that admits only the browser that opens the launch URL, and only to
	// the authorization endpoint (the consent page and its answer).
	px := &proxy.Proxy{
		Service:         *service,
		BrowserSessions: true,
		Paths:           []string{oauth.AuthorizePath},
		Logger:          slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	ln, err := proxy.Listen("127.0.0.1:0")
	if err != nil {
		return err
	}
	go px.Serve(ln)
	defer px.Close()
	cfg := &authclient.Config{
		OAuth2: oauth2.Config{ClientID: *clientID, Scopes: scopes, RedirectURL: "http://127.0.0.1/callback",
			Endpoint: oauth2.Endpoint{AuthURL: px.BaseURL(ln.Addr()) + oauth.AuthorizePath, TokenURL: md.TokenEndpoint, AuthStyle: oauth2.AuthStyleInParams}},
		Services: []string{*service},
		// The metadata came over IPC: the redirect's ipc-service and iss
		// are checked against it, not against metadata fetched through
		// the proxy, which serves the browser only.
		Issuer:     md.Issuer,
		IPCService: md.IPCService,
	}
	open := func(authURL string) error {
		u, err := url.Parse(authURL)
		if err != nil {
			return err
		}
		launch, err := px.LaunchURL(ln.Addr(), u.RequestURI())
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "Open this URL to log in (it works once, in one browser):\n%s\n", launch)
		if *browser != "" {
			return exec.Command(*browser, launch).Start()
		}
		return nil
	}
	s, err := cfg.LoopbackLogin(ctx, open)
	if err != nil {
		return err
	}
	return writeToken(stdout, s.Token(), s.IPCService)
}

// writeToken prints a login's token as JSON; its expiry is an RFC 3339
// time with its zone, as every time this command prints.
func writeToken(w io.Writer, tok *oauth2.Token, ipcService string) error {
	out := map[string]any{"access_token": tok.AccessToken, "token_type": tok.Type(), "ipc_service": ipcService}
	if !tok.Expiry.IsZero() {
		out["expiry"] = tok.Expiry.Format(time.RFC3339)
	}
	if tok.RefreshToken != "" {
		out["refresh_token"] = tok.RefreshToken
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
