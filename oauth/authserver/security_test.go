package authserver_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/address"
	"github.com/httpipc/httpipc/internal/syncbuf"
	"github.com/httpipc/httpipc/oauth"
	"github.com/httpipc/httpipc/oauth/authclient"
	"github.com/httpipc/httpipc/oauth/authserver"
	"github.com/httpipc/httpipc/peercred"
	"github.com/httpipc/httpipc/servicedir"
)

// The database holds the signing key and every grant: it and its
// companions are 0600 from the start, and an existing file open to others
// is tightened.
func TestStoreFileMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix file modes")
	}
	ctx := context.Background()
	dir := t.TempDir()
	check := func(path string) {
		t.Helper()
		n := 0
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			fi, err := os.Stat(path + suffix)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			n++
			if m := fi.Mode().Perm(); m != 0o600 {
				t.Errorf("%s: mode %v, want 0600", filepath.Base(path+suffix), m)
			}
		}
		if n < 2 {
			t.Errorf("%d database files, want the file and its WAL companions", n)
		}
	}

	db := filepath.Join(dir, "new.db")
	store, err := authserver.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.AddClient(ctx, authserver.Client{ID: "c", RedirectURIs: []string{mobileRedir}}); err != nil {
		t.Fatal(err)
	}
	if _, err := authserver.New(ctx, store, authserver.Options{Logger: quiet()}); err != nil { // writes the key
		t.Fatal(err)
	}
	check(db)
	store.Close()

	// A file another version (or umask) left 0644.
	old := filepath.Join(dir, "old.db")
	if err := os.WriteFile(old, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(old, 0o644)
	store, err = authserver.Open(old)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.AddClient(ctx, authserver.Client{ID: "c", RedirectURIs: []string{mobileRedir}}); err != nil {
		t.Fatal(err)
	}
	check(old)
}

// A redirect URI with user information is refused at registration and at
// authorization, where fosite's loopback matching would otherwise take
// http://x@127.0.0.1:PORT/callback for http://127.0.0.1/callback.
func TestRedirectURIUserinfo(t *testing.T) {
	l := newLMS(t, authserver.AllowAll())
	err := l.store.AddClient(context.Background(), authserver.Client{ID: "evil", RedirectURIs: []string{"http://a;sandbox@127.0.0.1:4444/cb"}})
	if err == nil || !strings.Contains(err.Error(), "user information") {
		t.Fatalf("AddClient: %v", err)
	}
	for _, redir := range []string{"http://a;sandbox@127.0.0.1:4444/callback", "http://a@127.0.0.1/callback", "http://:@127.0.0.1:1/callback"} {
		q := url.Values{
			"client_id": {"math"}, "response_type": {"code"}, "redirect_uri": {redir},
			"scope": {"roster.read"}, "state": {"0123456789abcdef"},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"},
		}
		resp, err := l.ipc().Get(issuer + oauth.AuthorizePath + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
			t.Errorf("%s: %s to %q", redir, resp.Status, resp.Header.Get("Location"))
		}
	}
}

// The consent page's CSP lets the form go to the page itself and to the
// origin of the redirect URI, and carries nothing else of it.
func TestConsentCSP(t *testing.T) {
	l := newLMS(t, nil)
	for redir, want := range map[string]string{
		"http://127.0.0.1:4444/callback?x=1;script-src%20*": "form-action 'self' http://127.0.0.1:4444;",
		"http://[::1]:80/callback":                          "form-action 'self' http://[::1]:80;",
		mobileRedir:                                         "form-action 'self' org.example.math:;",
	} {
		if redir != mobileRedir {
			// Registered with a query, so that this one matches.
			u, _ := url.Parse(redir)
			reg := "http://" + u.Hostname()
			if strings.Contains(u.Hostname(), ":") {
				reg = "http://[" + u.Hostname() + "]"
			}
			err := l.store.AddClient(context.Background(), authserver.Client{ID: "math", Name: "Math Lesson",
				RedirectURIs: []string{mobileRedir, reg + u.RequestURI()}, Scopes: []string{"roster.read"}})
			if err != nil {
				t.Fatal(err)
			}
		}
		q := url.Values{
			"client_id": {"math"}, "response_type": {"code"}, "redirect_uri": {redir},
			"scope": {"roster.read"}, "state": {"0123456789abcdef"},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"},
		}
		resp, err := l.ipc().Get(issuer + oauth.AuthorizePath + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		if resp.StatusCode != 200 || !strings.Contains(csp, want) {
			t.Errorf("%s: %s, CSP %q, want %q", redir, resp.Status, csp, want)
		}
	}
}

// Over IPC, a token request that came through a proxy (Forwarded) is
// refused, before the code is looked at: a proxy's uid is not the app's.
func TestTokenThroughProxyRefused(t *testing.T) {
	l := newLMS(t, authserver.AllowAll())
	code, verifier := freshCode(t, l)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}, "client_id": {"math"}, "redirect_uri": {mobileRedir}}
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "Via"} {
		r := httptest.NewRequest("POST", oauth.TokenPath, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set(h, "for=127.0.0.1;proto=http")
		r = r.WithContext(httpipc.ContextWithPeer(r.Context(), peercred.Self()))
		w := httptest.NewRecorder()
		l.srv.ServeHTTP(w, r)
		var body map[string]string
		json.Unmarshal(w.Body.Bytes(), &body)
		if w.Code != 400 || body["error"] != "invalid_request" || !strings.Contains(body["error_description"], "proxy") {
			t.Fatalf("%s: %d %s", h, w.Code, w.Body)
		}
	}
	// The launch fetch binds a uid too.
	uid := peercred.Self().UID
	link, err := l.srv.Launch(context.Background(), "math", issuer, "bob", []string{"roster.read"}, &uid)
	if err != nil {
		t.Fatal(err)
	}
	fetch := launchFetchURL(t, link)
	r := httptest.NewRequest("POST", fetch, strings.NewReader("client_id=math"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Forwarded", "for=127.0.0.1")
	r = r.WithContext(httpipc.ContextWithPeer(r.Context(), peercred.Self()))
	w := httptest.NewRecorder()
	l.srv.ServeHTTP(w, r)
	if w.Code != 400 || !strings.Contains(w.Body.String(), "invalid_request") {
		t.Fatalf("launch through a proxy: %d %s", w.Code, w.Body)
	}
	// Neither the code nor the link was spent.
	if status, body := tokenRequest(t, l, form); status != 200 {
		t.Fatalf("the code over IPC directly: %d %v", status, body)
	}
	if _, _, err := l.config().Launch(context.Background(), link); err != nil {
		t.Fatalf("the link over IPC directly: %v", err)
	}
}

// freshCode authorizes the math app with the mobile redirect and returns
// the code and its PKCE verifier.
func freshCode(t *testing.T, l *lms) (string, string) {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	u := l.config().OAuth2.AuthCodeURL("0123456789abcdef", oauth2.S256ChallengeOption(verifier))
	loc, _ := url.Parse(l.authorize(t, u))
	return loc.Query().Get("code"), verifier
}

func launchFetchURL(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(oauth.LaunchParamFetch)
}

// A launch link is checked for its client and user in the update that
// spends it: a fetch by another client or user leaves it to the right one,
// and the database keeps only the id's hash.
func TestLaunchChecksBeforeSpending(t *testing.T) {
	ctx := context.Background()
	l := newLMS(t, authserver.AllowAll())
	self := peercred.Self()
	uid := self.UID
	link, err := l.srv.Launch(ctx, "math", issuer+"/api", "bob", []string{"roster.read"}, &uid)
	if err != nil {
		t.Fatal(err)
	}
	fetch := launchFetchURL(t, link)
	id := fetch[strings.LastIndexByte(fetch, '/')+1:]
	post := func(client string, peer *peercred.Creds) (int, map[string]string) {
		r := httptest.NewRequest("POST", fetch, strings.NewReader(url.Values{"client_id": {client}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if peer != nil {
			r = r.WithContext(httpipc.ContextWithPeer(r.Context(), peer))
		}
		w := httptest.NewRecorder()
		l.srv.ServeHTTP(w, r)
		var body map[string]string
		json.Unmarshal(w.Body.Bytes(), &body)
		return w.Code, body
	}
	other := &peercred.Creds{UID: uid + 1000, PID: 1, GID: -1}
	for _, tc := range []struct {
		name   string
		client string
		peer   *peercred.Creds
		want   string
	}{
		{"another client", "kiosk", self, "another client_id"},
		{"no client", "", self, "another client_id"},
		{"another uid", "math", other, "not uid"},
		{"over the network", "math", nil, "over IPC"},
	} {
		if code, body := post(tc.client, tc.peer); code != 400 || body["error"] != "invalid_grant" || !strings.Contains(body["error_description"], tc.want) {
			t.Errorf("%s: %d %v", tc.name, code, body)
		}
	}
	if code, body := post("math", self); code != 200 || body["access_token"] == "" {
		t.Fatalf("the right client and user: %d %v", code, body)
	}
	if code, body := post("math", self); code != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("second fetch: %d %v", code, body)
	}
	// Stored hashed: the id itself is nowhere in the database.
	db, err := sql.Open("sqlite", "file:"+l.db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM launches WHERE id = ?`, id).Scan(&n); err != nil || n != 0 {
		t.Fatalf("launch id stored in plain text: %d %v", n, err)
	}
}

// The policy of an authorization app admits this user, and another only
// while a registered client names its uid: the store is read at each
// connection, so a client registered by another process counts at once.
func TestClientPolicy(t *testing.T) {
	ctx := context.Background()
	l := newLMS(t, authserver.AllowAll())
	policy := l.store.ClientPolicy()
	self := peercred.Self()
	if err := policy(self); err != nil {
		t.Fatalf("this user: %v", err)
	}
	other := &peercred.Creds{UID: self.UID + 4242, PID: 1, GID: -1}
	if err := policy(other); !errors.Is(err, httpipc.ErrNotAllowed) {
		t.Fatalf("another user: %v", err)
	}
	if err := policy(nil); !errors.Is(err, httpipc.ErrNotAllowed) {
		t.Fatalf("unknown peer: %v", err)
	}
	// Registered through another handle on the file, as "httpipc auth
	// client add" does while the server runs.
	second, err := authserver.Open(l.db)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	uid := other.UID
	if err := second.AddClient(ctx, authserver.Client{ID: "tablet", RedirectURIs: []string{mobileRedir}, UID: &uid}); err != nil {
		t.Fatal(err)
	}
	if err := policy(other); err != nil {
		t.Fatalf("the uid of a client registered later: %v", err)
	}
	if uids, err := l.store.ClientUIDs(ctx); err != nil || len(uids) != 1 || uids[0] != uid {
		t.Fatalf("ClientUIDs: %v %v", uids, err)
	}
	if err := second.AddClient(ctx, authserver.Client{ID: "tablet", RedirectURIs: []string{mobileRedir}}); err != nil {
		t.Fatal(err)
	}
	if err := policy(other); !errors.Is(err, httpipc.ErrNotAllowed) {
		t.Fatalf("after the client lost its uid: %v", err)
	}
}

// No log line, at any level, carries a code, a token or a launch id, even
// when they are refused.
func TestNoSecretsInLogs(t *testing.T) {
	ctx := context.Background()
	var logs syncbuf.Buffer
	l := newLMSLogging(t, authserver.AllowAll(), slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	var secrets []string
	var errs []error

	login := l.config().Start("")
	redirect := l.authorize(t, login.URL)
	code, _ := url.Parse(redirect)
	secrets = append(secrets, code.Query().Get("code"))
	s, err := login.Finish(ctx, redirect)
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, s.Token().AccessToken, s.Token().RefreshToken)
	// Refused: a replayed code, a wrong verifier, a refresh token of
	// another uid, a refresh through a proxy, a garbled token.
	_, err = login.Finish(ctx, redirect)
	errs = append(errs, err)
	c2, _ := freshCode(t, l)
	secrets = append(secrets, c2)
	tokenRequest(t, l, url.Values{"grant_type": {"authorization_code"}, "code": {c2}, "code_verifier": {oauth2.GenerateVerifier()}, "client_id": {"math"}, "redirect_uri": {mobileRedir}})
	tokenRequest(t, l, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {s.Token().RefreshToken + "x"}, "client_id": {"math"}})
	tokenRequest(t, l, url.Values{"grant_type": {"authorization_code"}, "code": {"ory_ac_" + s.Token().AccessToken}, "client_id": {"math"}})
	r := httptest.NewRequest("POST", oauth.TokenPath, strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {s.Token().RefreshToken}, "client_id": {"math"}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Forwarded", "for=127.0.0.1")
	l.srv.ServeHTTP(httptest.NewRecorder(), r.WithContext(httpipc.ContextWithPeer(ctx, &peercred.Creds{UID: peercred.Self().UID + 1, PID: 1, GID: -1})))
	// Another login (the replay revoked the first), refreshed, then
	// revoked.
	s = l.login(t)
	secrets = append(secrets, s.Token().AccessToken, s.Token().RefreshToken)
	expired := s.Token()
	expired.Expiry = expired.Expiry.Add(-24 * 3600e9)
	if s, err = l.config().Resume(ctx, expired, s.IPCService); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, s.Client(ctx), issuer+"/api/me"); code != 200 {
		t.Fatalf("API: %d %s", code, body)
	}
	tok, err := s.Client(ctx).Transport.(*oauth2.Transport).Source.Token()
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, tok.AccessToken, tok.RefreshToken)
	resp, err := l.ipc().PostForm(issuer+oauth.RevokePath, url.Values{"token": {tok.RefreshToken}, "client_id": {"math"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, err = l.srv.Verify(ctx, tok.AccessToken, peercred.Self())
	errs = append(errs, err)
	// A launch link: fetched, fetched again, fetched by another client.
	uid := peercred.Self().UID
	link, err := l.srv.Launch(ctx, "math", issuer+"/api", "bob", []string{"roster.read"}, &uid)
	if err != nil {
		t.Fatal(err)
	}
	fetch := launchFetchURL(t, link)
	secrets = append(secrets, fetch[strings.LastIndexByte(fetch, '/')+1:])
	ls, _, err := l.config().Launch(ctx, link)
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, ls.Token().AccessToken)
	_, _, err = l.config().Launch(ctx, link)
	errs = append(errs, err)
	_, _, err = l.config().Launch(ctx, "%zz"+link)
	errs = append(errs, err)
	_, err = login.Finish(ctx, "%zz"+redirect)
	errs = append(errs, err)

	out := logs.String()
	if !strings.Contains(out, "refused") {
		t.Fatalf("the refusals were not logged:\n%s", out)
	}
	for _, sec := range secrets {
		if sec == "" {
			t.Fatal("a secret of the flow is empty")
		}
		// The signature part alone is what matters.
		parts := strings.Split(sec, ".")
		for _, p := range append(parts, sec) {
			if len(p) < 16 {
				continue
			}
			if strings.Contains(out, p) {
				t.Errorf("a log line carries %q:\n%s", p, out)
			}
			for _, err := range errs {
				if err != nil && strings.Contains(err.Error(), p) {
					t.Errorf("an error carries %q: %v", p, err)
				}
			}
		}
	}
}

// A login binds the ipc-service and the issuer of its server: a redirect
// naming another registered service, or another iss, is refused; without
// Config.IPCService the binding comes from the server's metadata.
func TestRedirectBoundToServer(t *testing.T) {
	ctx := context.Background()
	l := newLMS(t, authserver.AllowAll())
	// A second registered service (here the same socket): registered, but
	// not this login's server.
	const other = "org.httpipc.other"
	if err := l.dir.Install(l.dirPath, mustEntry(t, other, l.sock)); err != nil {
		t.Fatal(err)
	}
	login := l.config().Start("")
	loc, _ := url.Parse(l.authorize(t, login.URL))
	if loc.Query().Get(oauth.ParamIssuer) != issuer {
		t.Fatalf("no iss in %s", loc)
	}
	forge := func(key, value string) string { return withParam(loc, key, value) }
	for _, tc := range []struct {
		name     string
		redirect string
		want     error
	}{
		{"another registered service", forge(oauth.ParamIPCService, other), authclient.ErrIPCService},
		{"another issuer", forge(oauth.ParamIssuer, "https://evil.example"), authclient.ErrIssuer},
	} {
		if _, err := login.Finish(ctx, tc.redirect); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := login.Finish(ctx, loc.String()); err != nil {
		t.Fatalf("the real redirect after forged ones: %v", err)
	}

	// Learned from the metadata at the authorization endpoint's base (the
	// "network" here reaches the LMS over IPC).
	learn := l.config()
	learn.IPCService, learn.Issuer = "", ""
	learn.HTTPClient = l.ipc()
	login = learn.Start("")
	loc, _ = url.Parse(l.authorize(t, login.URL))
	if _, err := login.Finish(ctx, forge(oauth.ParamIPCService, other)); !errors.Is(err, authclient.ErrIPCService) {
		t.Fatalf("another registered service, binding learned: %v", err)
	}
	if _, err := login.Finish(ctx, forge(oauth.ParamIssuer, "")); !errors.Is(err, authclient.ErrIssuer) {
		t.Fatalf("iss removed, the metadata says it is sent: %v", err)
	}
	s, err := login.Finish(ctx, loc.String())
	if err != nil || s.IPCService != service {
		t.Fatalf("binding learned from the metadata: %v %+v", err, s)
	}
	// A server that cannot be asked: no ipc-service is accepted.
	blind := l.config()
	blind.IPCService = ""
	blind.HTTPClient = &http.Client{Transport: handlerTransport{http.NotFoundHandler()}}
	login = blind.Start("")
	loc, _ = url.Parse(l.authorize(t, login.URL))
	if _, err := login.Finish(ctx, loc.String()); !errors.Is(err, authclient.ErrIPCService) {
		t.Fatalf("unknown binding: %v", err)
	}
	// Launch links too.
	uid := peercred.Self().UID
	link, err := l.srv.Launch(ctx, "math", issuer, "bob", []string{"roster.read"}, &uid)
	if err != nil {
		t.Fatal(err)
	}
	lu, _ := url.Parse(link)
	q := lu.Query()
	q.Set(oauth.LaunchParamIPC, other)
	lu.RawQuery = q.Encode()
	if _, _, err := l.config().Launch(ctx, lu.String()); !errors.Is(err, authclient.ErrIPCService) {
		t.Fatalf("launch link naming another registered service: %v", err)
	}
	if _, _, err := l.config().Launch(ctx, link); err != nil {
		t.Fatalf("the real launch link: %v", err)
	}
}

func mustEntry(t *testing.T, name, sock string) *servicedir.Entry {
	t.Helper()
	return &servicedir.Entry{Name: name, Socket: address.Address{Kind: address.Unix, Path: sock}}
}
