package authclient_test

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/oauth2"

	"github.com/httpipc/httpipc/oauth/authclient"
)

// A mobile client app: it opens the authorization URL, its host code
// receives the redirect, and the session's client reaches the API over IPC
// when the redirect carried an ipc-service, over the network otherwise.
func Example() {
	cfg := &authclient.Config{OAuth2: oauth2.Config{
		ClientID:    "org.example.math",
		RedirectURL: "org.example.math:/oauth/callback",
		Scopes:      []string{"roster.read"},
		Endpoint: oauth2.Endpoint{
			AuthURL:   "https://lms.example/oauth/authorize",
			TokenURL:  "https://lms.example/oauth/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}}
	login := cfg.Start("")
	fmt.Println(strings.Contains(login.URL, "code_challenge_method=S256"), strings.Contains(login.URL, "state="))

	// Later, with the URI the authorization app opened:
	//   s, err := login.Finish(ctx, redirectURI)
	//   api := s.Client(ctx) // same code online and offline
	//   api.Get("https://lms.example/ims/oneroster/rostering/v1p2/classes")
	_, err := login.Finish(context.Background(), "org.example.math:/oauth/callback?state=forged&code=x")
	fmt.Println(err)
	// Output:
	// true true
	// authclient: the redirect's state does not match this login
}
