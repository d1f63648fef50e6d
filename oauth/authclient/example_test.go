package authclient_test

import (
	"context"
	"encoding/json"
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

// An app that keeps its login across restarts saves the session's current
// token, after it refreshed too (refresh tokens rotate: an old one would be
// taken for a stolen one), and resumes from it.
func ExampleConfig_Resume() {
	var cfg *authclient.Config // the app's configuration, as for the login
	var s *authclient.Session  // from Finish, LoopbackLogin or Resume
	save := func() ([]byte, error) {
		return json.Marshal(map[string]any{"token": s.Token(), "ipc_service": s.IPCService})
	}
	restore := func(ctx context.Context, b []byte) (*authclient.Session, error) {
		var saved struct {
			Token      *oauth2.Token `json:"token"`
			IPCService string        `json:"ipc_service"`
		}
		if err := json.Unmarshal(b, &saved); err != nil {
			return nil, err
		}
		return cfg.Resume(ctx, saved.Token, saved.IPCService)
	}
	_, _ = save, restore
}
