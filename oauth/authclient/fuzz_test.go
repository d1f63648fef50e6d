package authclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"golang.org/x/oauth2"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/address"
	"github.com/httpipc/httpipc/oauth"
	"github.com/httpipc/httpipc/servicedir"
)

// The authorization server of FuzzRedirect's logins.
const (
	fuzzIssuer  = "https://lms.example"
	fuzzService = "org.example.lms" // its ipc-service, registered in a private directory
	fuzzState   = "S"
	fuzzClient  = "c"
)

// fuzzLMS answers FuzzRedirect's logins, over IPC and over the (in-process)
// network: the token endpoint redeems every code, and every other POST is a
// launch fetch. Its access tokens say which path carried the request and
// what it carried: for a code, its digest and the S256 challenge of the
// code_verifier sent.
func fuzzLMS(w http.ResponseWriter, r *http.Request) {
	via := "net"
	if httpipc.Peer(r) != nil {
		via = "ipc"
	}
	r.ParseForm()
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost || r.PostForm.Get("client_id") != fuzzClient {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request"})
		return
	}
	token := via + " launch"
	if r.URL.Path == oauth.TokenPath {
		if r.PostForm.Get("grant_type") != "authorization_code" {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "unsupported_grant_type"})
			return
		}
		token = via + " " + digest(r.PostForm.Get("code")) + " " + oauth2.S256ChallengeFromVerifier(r.PostForm.Get("code_verifier"))
	}
	json.NewEncoder(w).Encode(map[string]any{"access_token": token, "token_type": "bearer", "expires_in": 3600})
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// handlerTransport is the network of these tests: an http.Handler in this
// process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		defer r.Body.Close()
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// simpleFetch is a launch fetch URL that the fuzz LMS answers, over either
// path.
var simpleFetch = regexp.MustCompile(`^https://lms\.example/oauth/launch/[A-Za-z0-9]+$`)

// FuzzRedirect feeds Finish and Launch arbitrary redirect URIs and launch
// links, against an authorization server that answers over the network and
// over IPC. They must never panic, and must succeed exactly when the rules
// below, written here from the documentation, say so: the state is the
// login's, there is no error and there is a code, iss (when present) names
// the issuer, and ipc-service (when present) is the login's server's. A
// success must have redeemed that code with the login's verifier, over IPC
// exactly when ipc-service was given. A launch link may succeed only with
// fetch and endpoint and an ipc-service that is absent or the server's, and
// must succeed for a plain fetch URL of the server.
func FuzzRedirect(f *testing.F) {
	for _, seed := range []string{
		// Successes, over IPC and the network.
		"org.example.math:/cb?code=x&state=S&ipc-service=org.example.lms",
		"org.example.math:/cb?code=x&state=S&ipc-service=org.example.lms&iss=https%3A%2F%2Flms.example",
		"org.example.math:/cb?code=abc&state=S",
		"x:?endpoint=https://lms.example/api&fetch=https://lms.example/oauth/launch/abc&ipc-service=org.example.lms",
		"x:?endpoint=https://lms.example/api&fetch=https://lms.example/oauth/launch/abc",
		// Failures.
		"org.example.math:/cb?error=access_denied&state=S",
		"org.example.math:/cb?code=x&state=T&ipc-service=org.example.lms",
		"org.example.math:/cb?code=x&state=S&ipc-service=org.evil.lms",
		"org.example.math:/cb?code=x&state=S&iss=https%3A%2F%2Fevil.example",
		"http://127.0.0.1:1/cb?code=&state=S&ipc-service=unix:/tmp/x",
		"x:?fetch=http://a/b&endpoint=e&ipc-service=fd:3",
		"%zz",
	} {
		f.Add(seed)
	}
	run, err := os.MkdirTemp("", "acf")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { os.RemoveAll(run) })
	sock := filepath.Join(run, "lms.sock")
	ln, err := httpipc.Listen("unix:" + sock)
	if err != nil {
		f.Fatal(err)
	}
	srv := &httpipc.Server{Handler: http.HandlerFunc(fuzzLMS), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	go srv.Serve(ln)
	f.Cleanup(func() { srv.Close() })
	dir := servicedir.Directory{Getenv: func(k string) string {
		if k == "HTTPIPC_SERVICE_PATH" {
			return run
		}
		return "/nonexistent"
	}}
	if err := dir.Install(run, &servicedir.Entry{Name: fuzzService, Socket: address.Address{Kind: address.Unix, Path: sock}}); err != nil {
		f.Fatal(err)
	}
	cfg := &Config{
		OAuth2: oauth2.Config{ClientID: fuzzClient, RedirectURL: "org.example.math:/cb",
			Endpoint: oauth2.Endpoint{AuthURL: fuzzIssuer + oauth.AuthorizePath, TokenURL: fuzzIssuer + oauth.TokenPath, AuthStyle: oauth2.AuthStyleInParams}},
		Directory:  dir,
		IPCService: fuzzService,
		Issuer:     fuzzIssuer,
		HTTPClient: &http.Client{Transport: handlerTransport{http.HandlerFunc(fuzzLMS)}},
	}
	f.Fuzz(func(t *testing.T, redirect string) {
		ctx := context.Background()
		u, parseErr := url.Parse(redirect)
		var q url.Values
		if parseErr == nil {
			q = u.Query()
		}
		svc := q.Get(oauth.ParamIPCService)
		via := "net"
		if svc != "" {
			via = "ipc"
		}

		l := cfg.Start("")
		l.state = fuzzState
		s, err := l.Finish(ctx, redirect)
		var want error // nil: success
		switch {
		case parseErr != nil:
			want = errors.New("not a URI")
		case q.Get("state") != fuzzState:
			want = ErrState
		case q.Get("error") != "":
			want = errors.New("an error response")
		case q.Get("code") == "":
			want = errors.New("no code")
		case q.Has(oauth.ParamIssuer) && q.Get(oauth.ParamIssuer) != fuzzIssuer:
			want = ErrIssuer
		case svc != "" && svc != fuzzService:
			want = ErrIPCService
		}
		switch {
		case want == nil && err != nil:
			t.Fatalf("Finish(%q): %v, want a session", redirect, err)
		case want != nil && err == nil:
			t.Fatalf("Finish(%q) succeeded, want an error (%v)", redirect, want)
		case want != nil && (want == ErrState || want == ErrIssuer || want == ErrIPCService) && !errors.Is(err, want):
			t.Fatalf("Finish(%q): %v, want %v", redirect, err, want)
		case want == nil:
			login, _ := url.Parse(l.URL)
			wantToken := via + " " + digest(q.Get("code")) + " " + login.Query().Get("code_challenge")
			if got := s.Token().AccessToken; got != wantToken || s.IPCService != svc {
				t.Fatalf("Finish(%q): token %q over %q, want %q over %q", redirect, got, s.IPCService, wantToken, svc)
			}
		}

		s, endpoint, err := cfg.Launch(ctx, redirect)
		fetch := q.Get(oauth.LaunchParamFetch)
		allowed := parseErr == nil && fetch != "" && q.Get(oauth.LaunchParamEndpoint) != "" && (svc == "" || svc == fuzzService)
		switch {
		case err == nil && !allowed:
			t.Fatalf("Launch(%q) succeeded over %q", redirect, s.IPCService)
		case err == nil:
			if got := s.Token().AccessToken; got != via+" launch" || s.IPCService != svc || endpoint != q.Get(oauth.LaunchParamEndpoint) {
				t.Fatalf("Launch(%q): token %q over %q, endpoint %q", redirect, got, s.IPCService, endpoint)
			}
		case allowed && simpleFetch.MatchString(fetch):
			t.Fatalf("Launch(%q): %v, want a session", redirect, err)
		}
	})
}

// noNetwork is a network that is never reached.
type noNetwork struct{}

func (noNetwork) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("no network in this test")
}
