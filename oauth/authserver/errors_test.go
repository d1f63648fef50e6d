package authserver_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/oauth"
	"github.com/httpipc/httpipc/oauth/authclient"
	"github.com/httpipc/httpipc/oauth/authserver"
	"github.com/httpipc/httpipc/oauth/bearer"
	"github.com/httpipc/httpipc/peercred"
)

// authorizeError opens an authorization URL and returns the error code of
// the redirect (RFC 6749, section 4.1.2.1).
func authorizeError(t *testing.T, l *lms, q url.Values) string {
	t.Helper()
	resp, err := l.ipc().Get(issuer + oauth.AuthorizePath + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.String() == "" {
		t.Fatalf("no redirect: %s", resp.Status)
	}
	return loc.Query().Get("error")
}

func TestAuthorizeErrors(t *testing.T) {
	l := newLMS(t, authserver.Prompt(strings.NewReader("n\n"), new(strings.Builder)))
	good := func() url.Values {
		return url.Values{
			"client_id": {"math"}, "response_type": {"code"}, "redirect_uri": {mobileRedir},
			"scope": {"roster.read"}, "state": {"0123456789abcdef"},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"},
		}
	}
	for _, tc := range []struct {
		name   string
		change func(url.Values)
		want   string
	}{
		{"no PKCE", func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, "invalid_request"},
		{"plain PKCE", func(q url.Values) { q.Set("code_challenge_method", "plain") }, "invalid_request"},
		{"missing state", func(q url.Values) { q.Del("state") }, "invalid_request"},
		{"scope not allowed", func(q url.Values) { q.Set("scope", "admin") }, "invalid_scope"},
		{"implicit flow", func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type"},
		{"user denies", func(q url.Values) {}, "access_denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := good()
			tc.change(q)
			if got := authorizeError(t, l, q); got != tc.want {
				t.Fatalf("error %q, want %q", got, tc.want)
			}
		})
	}
	// A wrong redirect URI or client is never redirected to.
	for _, change := range []func(url.Values){
		func(q url.Values) { q.Set("redirect_uri", "org.evil:/steal") },
		func(q url.Values) { q.Set("client_id", "nobody") },
	} {
		q := good()
		change(q)
		resp, err := l.ipc().Get(issuer + oauth.AuthorizePath + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.Header.Get("Location") != "" {
			t.Fatalf("got %s to %q", resp.Status, resp.Header.Get("Location"))
		}
	}
}

func TestTokenErrors(t *testing.T) {
	l := newLMS(t, authserver.AllowAll())
	// code returns a fresh code and its verifier.
	code := func(client string) (string, string) {
		verifier := oauth2.GenerateVerifier()
		cfg := l.config()
		cfg.OAuth2.ClientID = client
		u := cfg.OAuth2.AuthCodeURL("0123456789abcdef", oauth2.S256ChallengeOption(verifier))
		loc, _ := url.Parse(l.authorize(t, u))
		return loc.Query().Get("code"), verifier
	}
	redeem := func(c, v string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "code_verifier": {v}, "client_id": {"math"}, "redirect_uri": {mobileRedir}}
	}
	used, usedV := code("math")
	if status, body := tokenRequest(t, l, redeem(used, usedV)); status != 200 {
		t.Fatalf("first redemption: %d %v", status, body)
	}
	kioskCode, kioskV := code("kiosk")
	kioskForm := redeem(kioskCode, kioskV)
	kioskForm.Set("client_id", "kiosk")
	_, body := tokenRequest(t, l, kioskForm)
	kioskRefresh, _ := body["refresh_token"].(string)
	if kioskRefresh != "" {
		t.Fatal("a client without refresh got a refresh token")
	}
	for _, tc := range []struct {
		name string
		form func() url.Values
		want string
	}{
		{"replayed code", func() url.Values { return redeem(used, usedV) }, "invalid_grant"},
		{"wrong verifier", func() url.Values { c, _ := code("math"); return redeem(c, oauth2.GenerateVerifier()) }, "invalid_grant"},
		{"no verifier", func() url.Values { c, _ := code("math"); f := redeem(c, ""); f.Del("code_verifier"); return f }, "invalid_grant"},
		{"wrong redirect URI", func() url.Values {
			c, v := code("math")
			f := redeem(c, v)
			f.Set("redirect_uri", "http://127.0.0.1/callback")
			return f
		}, "invalid_grant"},
		{"unknown client", func() url.Values { c, v := code("math"); f := redeem(c, v); f.Set("client_id", "nobody"); return f }, "invalid_client"},
		{"no grant type", func() url.Values { f := redeem("x", "y"); f.Del("grant_type"); return f }, "invalid_request"},
		{"password grant", func() url.Values {
			return url.Values{"grant_type": {"password"}, "username": {"a"}, "password": {"b"}, "client_id": {"math"}}
		}, "unsupported_grant_type"},
		{"refresh for a client without it", func() url.Values {
			return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x.y"}, "client_id": {"kiosk"}}
		}, "unauthorized_client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := tokenRequest(t, l, tc.form())
			if status < 400 || body["error"] != tc.want {
				t.Fatalf("got %d %v, want %s", status, body, tc.want)
			}
		})
	}
}

// A refresh cannot widen the scope of its grant. A refresh that asks for
// more gets the grant's own scope (fosite takes the scope of the original
// grant, and RFC 6749, section 5.1, has the response name it), and the new
// token grants no more than that; a refresh that names a scope no client
// may have gets the same.
func TestRefreshKeepsScope(t *testing.T) {
	ctx := t.Context()
	l := newLMS(t, authserver.AllowAll())
	s := l.login(t) // asks for roster.read; the client may have xapi.write too
	rt := s.Token().RefreshToken
	for _, scope := range []string{"roster.read xapi.write", "xapi.write", "admin", ""} {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"math"}}
		if scope != "" {
			form.Set("scope", scope)
		}
		status, body := tokenRequest(t, l, form)
		at, _ := body["access_token"].(string)
		rt, _ = body["refresh_token"].(string)
		if status != 200 || body["scope"] != "roster.read" || at == "" || rt == "" {
			t.Fatalf("refresh asking for %q: %d %v, want 200 with scope roster.read", scope, status, body)
		}
		tok, err := l.srv.Verify(ctx, at, peercred.Self())
		if err != nil || !slices.Equal(tok.Scopes, []string{"roster.read"}) {
			t.Fatalf("refresh asking for %q: the new token grants %v (%v), want [roster.read]", scope, tok, err)
		}
		for _, tc := range []struct {
			scope string
			want  int
		}{{"roster.read", 200}, {"xapi.write", 403}} {
			api := bearer.Require(l.srv, tc.scope)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			r := httptest.NewRequest("GET", "/api", nil)
			r.Header.Set("Authorization", "Bearer "+at)
			r = r.WithContext(httpipc.ContextWithPeer(r.Context(), peercred.Self()))
			w := httptest.NewRecorder()
			api.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("refresh asking for %q: the API requiring %s answers the new token %d, want %d", scope, tc.scope, w.Code, tc.want)
			}
		}
	}
}

// The client trusts ipc-service only in the answer to its own request and
// only for a registered service.
func TestRedirectTrust(t *testing.T) {
	ctx := context.Background()
	l := newLMS(t, authserver.AllowAll())
	cfg := l.config()
	login := cfg.Start("")
	loc, _ := url.Parse(l.authorize(t, login.URL))
	forge := func(key, value string) string { return withParam(loc, key, value) }
	for _, tc := range []struct {
		name     string
		redirect string
		want     error
	}{
		{"another login's state", forge("state", "someone-else"), authclient.ErrState},
		{"no state", forge("state", ""), authclient.ErrState},
		{"socket path", forge(oauth.ParamIPCService, "unix:/tmp/evil.sock"), authclient.ErrIPCService},
		{"unregistered name", forge(oauth.ParamIPCService, "org.evil.lms"), authclient.ErrIPCService},
		{"descriptor", forge(oauth.ParamIPCService, "fd:3"), authclient.ErrIPCService},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := login.Finish(ctx, tc.redirect); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// A registered service whose process runs as another user is refused
	// when the code is redeemed.
	strict := l.config()
	strict.Provider = httpipc.AllowUIDs(4242)
	login = strict.Start("")
	if _, err := login.Finish(ctx, l.authorize(t, login.URL)); !errors.Is(err, httpipc.ErrProviderIdentity) {
		t.Fatalf("provider of another uid: %v", err)
	}
}

// A token issued over IPC works only for the OS user that redeemed it.
func TestTokenBoundToUID(t *testing.T) {
	ctx := context.Background()
	l := newLMS(t, authserver.AllowAll())
	s := l.login(t)
	self := peercred.Self()
	other := &peercred.Creds{UID: self.UID + 1000, PID: 1, GID: -1}
	api := bearer.Require(l.srv, "roster.read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, tc := range []struct {
		name string
		peer *peercred.Creds
		want int
	}{
		{"same uid over IPC", self, 200},
		{"another uid over IPC", other, 401},
		{"over the network", nil, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/me", nil)
			r.Header.Set("Authorization", "Bearer "+s.Token().AccessToken)
			if tc.peer != nil {
				r = r.WithContext(httpipc.ContextWithPeer(r.Context(), tc.peer))
			}
			w := httptest.NewRecorder()
			api.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("got %d %s", w.Code, w.Body)
			}
		})
	}
	// Nor may another uid refresh it.
	r := httptest.NewRequest("POST", oauth.TokenPath, strings.NewReader(url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {s.Token().RefreshToken}, "client_id": {"math"}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r = r.WithContext(httpipc.ContextWithPeer(r.Context(), other))
	w := httptest.NewRecorder()
	l.srv.ServeHTTP(w, r)
	if w.Code != 400 || !strings.Contains(w.Body.String(), "invalid_grant") {
		t.Fatalf("refresh by another uid: %d %s", w.Code, w.Body)
	}
	// A client registered for a uid redeems codes only as that uid.
	uid := self.UID + 1000
	if err := l.store.AddClient(ctx, authserver.Client{ID: "math", Name: "Math Lesson", RedirectURIs: []string{mobileRedir}, Scopes: []string{"roster.read"}, UID: &uid}); err != nil {
		t.Fatal(err)
	}
	login := l.config().Start("")
	if _, err := login.Finish(ctx, l.authorize(t, login.URL)); err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("redeemed by the wrong uid: %v", err)
	}
}

// A launch link's token is fetched once, over IPC, by the right user.
func TestLaunch(t *testing.T) {
	ctx := context.Background()
	l := newLMS(t, authserver.AllowAll())
	uid := peercred.Self().UID
	link, err := l.srv.Launch(ctx, "math", issuer+"/api", "bob", []string{"roster.read"}, &uid)
	if err != nil {
		t.Fatal(err)
	}
	cfg := l.config()
	s, endpoint, err := cfg.Launch(ctx, link)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, s.Client(ctx), endpoint+"/me"); endpoint != issuer+"/api" || code != 200 || body != "bob via math" {
		t.Fatalf("API: %s %d %s", endpoint, code, body)
	}
	var e *authclient.Error
	if _, _, err := cfg.Launch(ctx, link); !errors.As(err, &e) || e.Code != "invalid_grant" {
		t.Fatalf("second fetch: %v", err)
	}
	if _, err := l.srv.Launch(ctx, "math", issuer, "bob", []string{"admin"}, nil); err == nil {
		t.Fatal("launch with a scope the client may not have")
	}
	other := uid + 1000
	link, _ = l.srv.Launch(ctx, "math", issuer, "bob", []string{"roster.read"}, &other)
	if _, _, err := cfg.Launch(ctx, link); !errors.As(err, &e) || e.Code != "invalid_grant" {
		t.Fatalf("fetch by another uid: %v", err)
	}
}

// The terminal consent asks once per request and honours the answer.
func TestPromptConsent(t *testing.T) {
	ctx := context.Background()
	in := strings.NewReader("y\nno\n")
	var out strings.Builder
	l := newLMS(t, authserver.Prompt(in, &out))
	login := l.config().Start("")
	if _, err := login.Finish(ctx, l.authorize(t, login.URL)); err != nil {
		t.Fatal(err)
	}
	login = l.config().Start("")
	var e *authclient.Error
	if _, err := login.Finish(ctx, l.authorize(t, login.URL)); !errors.As(err, &e) || e.Code != "access_denied" {
		t.Fatalf("denied: %v", err)
	}
	if n := strings.Count(out.String(), `"Math Lesson" (client math) asks for: roster.read`); n != 2 {
		t.Fatalf("prompts:\n%s", out.String())
	}
}

// A refresh token works once: it rotates, and reusing the old one fails and
// revokes the grant, the new tokens included.
func TestRefreshRotation(t *testing.T) {
	ctx := context.Background()
	l := newLMS(t, authserver.AllowAll())
	s := l.login(t)
	refresh := func(rt string) (int, map[string]any) {
		return tokenRequest(t, l, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"math"}})
	}
	status, body := refresh(s.Token().RefreshToken)
	newRT, _ := body["refresh_token"].(string)
	newAT, _ := body["access_token"].(string)
	if status != 200 || newRT == "" || newRT == s.Token().RefreshToken {
		t.Fatalf("first refresh: %d %v", status, body)
	}
	if status, body := refresh(s.Token().RefreshToken); status != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("reused refresh token: %d %v", status, body)
	}
	if _, err := l.srv.Verify(ctx, newAT, peercred.Self()); !errors.Is(err, bearer.ErrInvalidToken) {
		t.Fatalf("access token of a grant whose refresh token was reused: %v", err)
	}
	if status, body := refresh(newRT); status != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("new refresh token after reuse: %d %v", status, body)
	}
}

// withParam returns u with its query parameter key set to value, or
// removed when value is empty: a redirect an attacker forged.
func withParam(u *url.URL, key, value string) string {
	q := u.Query()
	if value == "" {
		q.Del(key)
	} else {
		q.Set(key, value)
	}
	v := *u
	v.RawQuery = q.Encode()
	return v.String()
}
