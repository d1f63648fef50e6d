// Command mathapp is the example math app as a command: it logs in through
// an LMS app, runs a lesson and prints each step. The same code runs
// offline, with --lms naming the LMS app's ipc-service, and online, with
// --online naming its server.
//
//	mathapp --lms org.example.lms [--api https://lms.example]
//	mathapp --online http://127.0.0.1:8080
//
// The LMS's consent page opens in a browser (--browser CMD runs one; else
// the URL is printed): offline through a localhost proxy to the LMS app.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"

	"golang.org/x/oauth2"

	"github.com/httpipc/httpipc/examples/mathapp"
	"github.com/httpipc/httpipc/oauth"
	"github.com/httpipc/httpipc/oauth/authclient"
	"github.com/httpipc/httpipc/proxy"
)

func main() {
	lmsAddr := flag.String("lms", "", "the LMS app's ipc-service (offline)")
	online := flag.String("online", "", "the LMS server's base URL (online)")
	api := flag.String("api", "https://lms.example", "the LMS's base URL as the app knows it (offline)")
	learner := flag.String("learner", "u-learner-1", "the learner's sourcedId")
	browser := flag.String("browser", "", "command that opens the consent page (default: print the URL)")
	flag.Parse()
	if (*lmsAddr == "") == (*online == "") {
		fmt.Fprintln(os.Stderr, "mathapp: give --lms ADDR (offline) or --online URL")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	authURL, base := *online+oauth.AuthorizePath, *online
	cfg := &authclient.Config{}
	if *lmsAddr != "" {
		// Offline: the browser reaches the LMS app through a localhost
		// proxy; the app trusts the address it was given.
		px := &proxy.Proxy{Service: *lmsAddr, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		ln, err := proxy.Listen("")
		if err != nil {
			fmt.Fprintln(os.Stderr, "mathapp:", err)
			os.Exit(1)
		}
		go px.Serve(ln)
		defer px.Close()
		authURL, base = px.BaseURL(ln.Addr())+oauth.AuthorizePath, *api
		cfg.Services = []string{*lmsAddr}
	}
	cfg.OAuth2 = oauth2.Config{ClientID: mathapp.ClientID, Scopes: mathapp.Scopes, RedirectURL: "http://127.0.0.1/callback",
		Endpoint: oauth2.Endpoint{AuthURL: authURL, TokenURL: base + oauth.TokenPath, AuthStyle: oauth2.AuthStyleInParams}}
	app := &mathapp.App{Auth: cfg, API: base, Learner: *learner, Log: os.Stdout}
	err := app.Login(ctx, func(_ context.Context, u string) error {
		fmt.Printf("open this link to log in through the LMS:\n%s\n", u)
		if *browser != "" {
			return exec.Command(*browser, u).Start()
		}
		return nil
	})
	if err == nil {
		_, err = app.RunLesson(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mathapp:", err)
		os.Exit(1)
	}
}
