package mathapp_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"golang.org/x/oauth2"

	"github.com/httpipc/httpipc/examples/lms"
	"github.com/httpipc/httpipc/examples/mathapp"
	"github.com/httpipc/httpipc/oauth"
	"github.com/httpipc/httpipc/oauth/authclient"
	"github.com/httpipc/httpipc/oauth/authserver"
	"github.com/httpipc/httpipc/proxy"
)

// The math app logs in through the LMS app and runs a lesson; here both run
// in one process, the LMS on a Unix socket the app trusts by name.
func Example() {
	dir, _ := os.MkdirTemp("", "math")
	defer os.RemoveAll(dir)
	sock := "unix:" + filepath.Join(dir, "lms.sock")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{})
	go lms.Serve(ctx, lms.AppConfig{
		State: dir, Listen: sock, Issuer: "https://lms.example", IPCService: sock, Learner: "u-learner-1", Logger: quiet,
		Clients: []authserver.Client{{ID: mathapp.ClientID, Name: "Math Lesson", RedirectURIs: []string{"http://127.0.0.1/callback"}, Scopes: mathapp.Scopes}},
		Ready:   func(string) { close(ready) },
	})
	<-ready

	// The browser reaches the LMS's consent page through a localhost proxy.
	px := &proxy.Proxy{Service: sock, Logger: quiet}
	ln, _ := proxy.Listen("")
	go px.Serve(ln)
	defer px.Close()

	app := &mathapp.App{
		Auth: &authclient.Config{
			OAuth2: oauth2.Config{ClientID: mathapp.ClientID, Scopes: mathapp.Scopes, RedirectURL: "http://127.0.0.1/callback",
				Endpoint: oauth2.Endpoint{AuthURL: px.BaseURL(ln.Addr()) + oauth.AuthorizePath, TokenURL: "https://lms.example" + oauth.TokenPath, AuthStyle: oauth2.AuthStyleInParams}},
			Services: []string{sock}, // the address this app was configured with
		},
		API:     "https://lms.example",
		Learner: "u-learner-1",
	}
	if err := app.Login(ctx, mathapp.Consent(io.Discard)); err != nil {
		fmt.Println(err)
		return
	}
	rep, err := app.RunLesson(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rep.Classes, app.Session.IPCService == sock)
	// Output: [Mathematics 7B Science 7B] true
}
