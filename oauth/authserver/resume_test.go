package authserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/httpipc/httpipc/oauth/authclient"
	"github.com/httpipc/httpipc/oauth/authserver"
	"github.com/httpipc/httpipc/oauth/bearer"
	"github.com/httpipc/httpipc/peercred"
	"github.com/httpipc/httpipc/servicedir"
)

// saved is what a client app keeps of its login across restarts.
type saved struct {
	Token      *oauth2.Token `json:"token"`
	IPCService string        `json:"ipc_service"`
}

func save(t *testing.T, path string, s *authclient.Session) {
	t.Helper()
	b, err := json.Marshal(saved{s.Token(), s.IPCService})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// load reads a saved login and, with expire, makes its access token look
// expired, so that the resumed session refreshes at its first use.
func load(t *testing.T, path string, expire bool) saved {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var sv saved
	if err := json.Unmarshal(b, &sv); err != nil {
		t.Fatal(err)
	}
	if expire {
		sv.Token.Expiry = time.Now().Add(-time.Minute)
	}
	return sv
}

// restart stops the authorization app and starts a new one on the same
// SQLite file.
func (l *lms) restart(t *testing.T, parent testing.TB) {
	t.Helper()
	l.stop()
	l.store.Close()
	store, err := authserver.Open(l.db)
	if err != nil {
		t.Fatal(err)
	}
	l.store = store
	parent.Cleanup(func() { store.Close() })
	l.start(parent, authserver.AllowAll())
}

// An app saves its session, both apps restart, and the resumed session
// refreshes over IPC and keeps working, restart after restart, as long as
// the app saves Session.Token after each refresh (refresh tokens rotate).
// Saving only the token of the login would, at the second restart, present
// a spent refresh token: the server takes that for a stolen token and
// revokes the grant.
func TestResumeAfterRestart(t *testing.T) {
	ctx := context.Background()
	l := newLMS(t, authserver.AllowAll())
	file := filepath.Join(t.TempDir(), "session.json")
	stale := filepath.Join(t.TempDir(), "stale.json")

	s := l.login(t)
	save(t, file, s)
	save(t, stale, s)
	login := s.Token()

	for i := 1; i <= 2; i++ {
		// Both sides restart: a new server on the same file, and a new
		// client configuration that has only what it saved.
		l.restart(t, t)
		sv := load(t, file, true)
		s, err := l.config().Resume(ctx, sv.Token, sv.IPCService)
		if err != nil {
			t.Fatalf("restart %d: resume: %v", i, err)
		}
		if s.IPCService != service {
			t.Fatalf("restart %d: resumed over %q", i, s.IPCService)
		}
		if code, body := get(t, s.Client(ctx), issuer+"/api/me"); code != 200 || body != "alice via math" {
			t.Fatalf("restart %d: API: %d %s", i, code, body)
		}
		// The session refreshed, and Token is the rotated token.
		now := s.Token()
		if now.AccessToken == sv.Token.AccessToken || now.RefreshToken == sv.Token.RefreshToken || now.RefreshToken == "" || !now.Valid() {
			t.Fatalf("restart %d: the session's token was not refreshed: %+v", i, now)
		}
		if tok, err := s.TokenSource().Token(); err != nil || tok.AccessToken != now.AccessToken {
			t.Fatalf("restart %d: token source: %v", i, err)
		}
		if _, err := l.srv.Verify(ctx, now.AccessToken, peercred.Self()); err != nil {
			t.Fatalf("restart %d: refreshed token: %v", i, err)
		}
		save(t, file, s)
	}
	if s.Token().RefreshToken != login.RefreshToken {
		t.Fatal("the first session's token changed")
	}

	// The app that saved only the login's token presents a spent refresh
	// token: reuse detection revokes the grant, the good session's tokens
	// included.
	sv := load(t, stale, true)
	bad, err := l.config().Resume(ctx, sv.Token, sv.IPCService)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Client(ctx).Get(issuer + "/api/me"); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("a spent refresh token: %v", err)
	}
	good := load(t, file, false)
	if _, err := l.srv.Verify(ctx, good.Token.AccessToken, peercred.Self()); !errors.Is(err, bearer.ErrInvalidToken) {
		t.Fatalf("the grant survived the reuse of a refresh token: %v", err)
	}
	good.Token.Expiry = time.Now().Add(-time.Minute)
	s2, err := l.config().Resume(ctx, good.Token, good.IPCService)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.TokenSource().Token(); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("the latest refresh token after reuse detection: %v", err)
	}
}

// Resume trusts a saved ipc-service only as Finish trusts a redirect's:
// the one of the configured authorization server, and registered.
func TestResumeBinding(t *testing.T) {
	ctx := context.Background()
	l := newLMS(t, authserver.AllowAll())
	s := l.login(t)
	tok := s.Token()
	for _, svc := range []string{"org.example.other", "unix:" + l.sock} {
		if _, err := l.config().Resume(ctx, tok, svc); !errors.Is(err, authclient.ErrIPCService) {
			t.Errorf("resume over %q: %v", svc, err)
		}
	}
	// The right service, unregistered on this device.
	cfg := l.config()
	cfg.Directory = servicedir.At(t.TempDir())
	if _, err := cfg.Resume(ctx, tok, service); !errors.Is(err, authclient.ErrIPCService) {
		t.Errorf("resume over an unregistered service: %v", err)
	}
	if _, err := l.config().Resume(ctx, &oauth2.Token{}, service); err == nil {
		t.Error("resumed without a token")
	}
}
