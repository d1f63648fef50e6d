package authserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/address"
	"github.com/httpipc/httpipc/oauth"
	"github.com/httpipc/httpipc/oauth/authclient"
	"github.com/httpipc/httpipc/oauth/authserver"
	"github.com/httpipc/httpipc/oauth/bearer"
	"github.com/httpipc/httpipc/peercred"
	"github.com/httpipc/httpipc/servicedir"
)

const (
	service     = "org.httpipc.lms"
	issuer      = "https://lms.example"
	mobileRedir = "org.example.math:/oauth/callback"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// lms is an authorization app that is also the API provider, serving over
// a Unix socket registered as service in a private service directory.
type lms struct {
	dir   servicedir.Directory
	srv   *authserver.Server
	store *authserver.Store
	db    string
	sock  string
	stop  func()
	// dirPath holds the service entry, rewritten on a restart.
	dirPath string
	// mux serves the endpoints and the API; log gets the servers' lines.
	mux http.Handler
	log *slog.Logger
	// now is the server's clock (authserver.Options.Now); nil means
	// time.Now.
	now func() time.Time
}

func newLMS(t testing.TB, consent authserver.Consent) *lms {
	t.Helper()
	return newLMSLogging(t, consent, quiet())
}

// newLMSLogging is newLMS with the authorization server's and the IPC
// server's log lines going to log.
func newLMSLogging(t testing.TB, consent authserver.Consent, log *slog.Logger) *lms {
	t.Helper()
	return newLMSClock(t, consent, log, nil)
}

// newLMSClock is newLMSLogging with the server's clock now (nil means
// time.Now).
func newLMSClock(t testing.TB, consent authserver.Consent, log *slog.Logger, now func() time.Time) *lms {
	t.Helper()
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "auth.db")
	store, err := authserver.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	err = store.AddClient(ctx, authserver.Client{ID: "math", Name: "Math Lesson",
		RedirectURIs: []string{mobileRedir, "http://127.0.0.1/callback"}, Scopes: []string{"roster.read", "xapi.write"}})
	if err == nil {
		err = store.AddClient(ctx, authserver.Client{ID: "kiosk", RedirectURIs: []string{mobileRedir}, Scopes: []string{"roster.read"}, NoRefresh: true})
	}
	if err != nil {
		t.Fatal(err)
	}
	l := &lms{store: store, db: db, log: log, now: now}
	l.start(t, consent)
	return l
}

// start serves the authorization endpoints and /api/me on a socket.
func (l *lms) start(t testing.TB, consent authserver.Consent) {
	t.Helper()
	srv, err := authserver.New(context.Background(), l.store, authserver.Options{Issuer: issuer, IPCService: service, Consent: consent, Subject: "alice", Logger: l.log, Now: l.now})
	if err != nil {
		t.Fatal(err)
	}
	l.srv = srv
	mux := http.NewServeMux()
	mux.Handle("/", srv)
	mux.Handle("/api/me", bearer.Require(srv, "roster.read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := bearer.FromContext(r.Context())
		fmt.Fprintf(w, "%s via %s", tok.Subject, tok.ClientID)
	})))
	run, err := os.MkdirTemp("", "oa")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(run) })
	l.sock = filepath.Join(run, "lms.sock")
	ln, err := httpipc.Listen("unix:" + l.sock)
	if err != nil {
		t.Fatal(err)
	}
	l.mux = mux
	hs := &httpipc.Server{Handler: mux, Logger: l.log}
	go hs.Serve(ln)
	l.stop = func() { hs.Close() }
	t.Cleanup(l.stop)
	if l.dirPath == "" {
		l.dirPath = t.TempDir()
	}
	dir := l.dirPath
	l.dir = servicedir.At(dir)
	if err := l.dir.Install(dir, &servicedir.Entry{Name: service, Socket: address.Address{Kind: address.Unix, Path: l.sock}}); err != nil {
		t.Fatal(err)
	}
}

func (l *lms) config() *authclient.Config {
	return &authclient.Config{
		OAuth2: oauth2.Config{ClientID: "math", RedirectURL: mobileRedir, Scopes: []string{"roster.read"},
			Endpoint: oauth2.Endpoint{AuthURL: issuer + oauth.AuthorizePath, TokenURL: issuer + oauth.TokenPath, AuthStyle: oauth2.AuthStyleInParams}},
		Directory:  l.dir,
		IPCService: service,
		Issuer:     issuer,
	}
}

// ipc is a plain client to the LMS over IPC that does not follow redirects.
func (l *lms) ipc() *http.Client {
	return &http.Client{
		Transport:     &httpipc.Transport{Service: "unix:" + l.sock, Logger: quiet()},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// authorize plays the browser: it opens authURL and returns where the
// authorization app sends it back.
func (l *lms) authorize(t *testing.T, authURL string) string {
	t.Helper()
	resp, err := l.ipc().Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound || loc == "" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("authorize: %s %s", resp.Status, b)
	}
	return loc
}

// login runs a whole login that must succeed and returns its session.
func (l *lms) login(t *testing.T) *authclient.Session {
	t.Helper()
	login := l.config().Start("")
	s, err := login.Finish(context.Background(), l.authorize(t, login.URL))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The whole offline flow: authorize, redirect with ipc-service, redeem over
// IPC, call the API, refresh, revoke, and keep working across a restart.
func TestOfflineFlow(t *testing.T) {
	ctx := context.Background()
	l := newLMS(t, authserver.AllowAll())
	cfg := l.config()
	login := cfg.Start("")
	redirect := l.authorize(t, login.URL)
	u, _ := url.Parse(redirect)
	if !strings.HasPrefix(redirect, mobileRedir+"?") || u.Query().Get(oauth.ParamIPCService) != service || u.Query().Get("code") == "" {
		t.Fatalf("redirect %s", redirect)
	}
	s, err := login.Finish(ctx, redirect)
	if err != nil {
		t.Fatal(err)
	}
	if s.IPCService != service || s.Token().RefreshToken == "" {
		t.Fatalf("session %+v", s)
	}
	api := s.Client(ctx)
	if code, body := get(t, api, issuer+"/api/me"); code != 200 || body != "alice via math" {
		t.Fatalf("API: %d %s", code, body)
	}
	// The same code is refused the second time, and the tokens issued for
	// it stop working (RFC 6749, section 4.1.2: a replayed code may have
	// been stolen).
	var re *oauth2.RetrieveError
	if _, err := login.Finish(ctx, redirect); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("replayed code: %v", err)
	}
	if _, err := l.srv.Verify(ctx, s.Token().AccessToken, peercred.Self()); !errors.Is(err, bearer.ErrInvalidToken) {
		t.Fatalf("the access token of a replayed code: %v", err)
	}
	if code, body := get(t, api, issuer+"/api/me"); code != 401 {
		t.Fatalf("API with the access token of a replayed code: %d %s", code, body)
	}
	if code, body := tokenRequest(t, l, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {s.Token().RefreshToken}, "client_id": {"math"}}); code != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("refresh with the refresh token of a replayed code: %d %v", code, body)
	}

	parent := t // what restart starts outlives the subtest
	t.Run("restart", func(t *testing.T) {
		s := l.login(t)
		l.stop()
		l.store.Close()
		store, err := authserver.Open(l.db)
		if err != nil {
			t.Fatal(err)
		}
		l.store = store
		l.start(parent, authserver.AllowAll())
		if _, err := l.srv.Verify(ctx, s.Token().AccessToken, peercred.Self()); err != nil {
			t.Fatalf("token after restart: %v", err)
		}
		// Expire the access token: the client refreshes over IPC.
		tok := s.Token()
		tok.Expiry = time.Now().Add(-time.Minute)
		s, err = l.config().Resume(ctx, tok, s.IPCService)
		if err != nil {
			t.Fatal(err)
		}
		api := s.Client(ctx)
		if code, body := get(t, api, issuer+"/api/me"); code != 200 {
			t.Fatalf("API after refresh: %d %s", code, body)
		}
	})

	t.Run("revoke", func(t *testing.T) {
		s := l.login(t)
		form := url.Values{"token": {s.Token().RefreshToken}, "client_id": {"math"}}
		resp, err := l.ipc().PostForm(issuer+oauth.RevokePath, form)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("revoke: %v %v", err, resp)
		}
		resp.Body.Close()
		if _, err := l.srv.Verify(ctx, s.Token().AccessToken, peercred.Self()); !errors.Is(err, bearer.ErrInvalidToken) {
			t.Fatalf("access token after revoking its grant: %v", err)
		}
		code, body := tokenRequest(t, l, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {s.Token().RefreshToken}, "client_id": {"math"}})
		if code != 400 || body["error"] != "invalid_grant" {
			t.Fatalf("refresh after revocation: %d %v", code, body)
		}
	})
}

func tokenRequest(t *testing.T, l *lms, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := l.ipc().PostForm(issuer+oauth.TokenPath, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// Online: no ipc-service in the redirect, the code goes over the network,
// and the client's code is the same.
func TestOnlineFlow(t *testing.T) {
	ctx := context.Background()
	l := newLMS(t, authserver.AllowAll())
	online, err := authserver.New(ctx, l.store, authserver.Options{Issuer: issuer, Consent: authserver.AllowAll(), Subject: "alice", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", online)
	mux.Handle("/api/me", bearer.Require(online, "roster.read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "online")
	})))
	// The network, reached through a client whose transport is the
	// handler itself.
	net := &http.Client{Transport: handlerTransport{mux}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cfg := l.config()
	cfg.HTTPClient = net
	login := cfg.Start("")
	resp, err := net.Get(login.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	redirect := resp.Header.Get("Location")
	if strings.Contains(redirect, oauth.ParamIPCService) {
		t.Fatalf("online redirect carries ipc-service: %s", redirect)
	}
	s, err := login.Finish(ctx, redirect)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, s.Client(ctx), issuer+"/api/me"); code != 200 || body != "online" || s.IPCService != "" {
		t.Fatalf("API: %d %s %q", code, body, s.IPCService)
	}
}

type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}
