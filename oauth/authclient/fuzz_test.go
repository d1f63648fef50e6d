package authclient

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"golang.org/x/oauth2"
)

type noNetwork struct{}

func (noNetwork) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("no network in this test")
}

// FuzzRedirect feeds Finish and Launch arbitrary redirect URIs and launch
// links: they return an error or a session, never panic, and never accept
// an ipc-service that is not registered.
func FuzzRedirect(f *testing.F) {
	f.Add("org.example.math:/cb?code=x&state=S&ipc-service=org.example.lms")
	f.Add("org.example.math:/cb?error=access_denied&state=S")
	f.Add("http://127.0.0.1:1/cb?code=&state=S&ipc-service=unix:/tmp/x")
	f.Add("x:?fetch=http://a/b&endpoint=e&ipc-service=fd:3")
	f.Add("%zz")
	cfg := &Config{
		OAuth2:     oauth2.Config{ClientID: "c", Endpoint: oauth2.Endpoint{TokenURL: "http://lms/token"}},
		HTTPClient: &http.Client{Transport: noNetwork{}},
	}
	cfg.Directory.Getenv = func(string) string { return "/nonexistent" }
	f.Fuzz(func(t *testing.T, redirect string) {
		l := cfg.Start("")
		l.state = "S"
		if s, err := l.Finish(context.Background(), redirect); err == nil && s.IPCService != "" {
			t.Fatalf("accepted ipc-service %q", s.IPCService)
		}
		if s, _, err := cfg.Launch(context.Background(), redirect); err == nil && s.IPCService != "" {
			t.Fatalf("launch accepted ipc-service %q", s.IPCService)
		}
	})
}
