package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
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
			"the URL), waits for the redirect, redeems the code and prints the token and ipc-service.", stderr)
	service := fs.String("service", "", "ipc-service address of the authorization app (required)")
	clientID := fs.String("client-id", "", "registered client id (required)")
	var scopes multiFlag
	fs.Var(&scopes, "scope", "scope to ask for (repeatable)")
	browser := fs.String("browser", "", "command that opens the URL (default: print it only)")
	timeout := fs.Duration("timeout", 5*time.Minute, "how long to wait for the user")
	if err := fs.Parse(args); err != nil {
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
	// The browser reaches the authorization app through a localhost proxy.
	px := &proxy.Proxy{Service: *service, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
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
	}
	open := func(u string) error {
		fmt.Fprintf(stderr, "Open this URL to log in:\n%s\n", u)
		if *browser != "" {
			return exec.Command(*browser, u).Start()
		}
		return nil
	}
	s, err := cfg.LoopbackLogin(ctx, open)
	if err != nil {
		return err
	}
	out := map[string]any{"access_token": s.Token.AccessToken, "token_type": s.Token.Type(), "expiry": s.Token.Expiry, "ipc_service": s.IPCService}
	if s.Token.RefreshToken != "" {
		out["refresh_token"] = s.Token.RefreshToken
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
