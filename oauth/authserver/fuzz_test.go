package authserver_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/httpipc/httpipc/oauth"
	"github.com/httpipc/httpipc/oauth/authserver"
)

// FuzzEndpoints sends arbitrary query strings and form bodies to the
// authorization, token, revocation and launch endpoints: each answers with
// a client error or success, never a server error or a panic.
func FuzzEndpoints(f *testing.F) {
	f.Add(oauth.TokenPath, "grant_type=authorization_code&code=x&client_id=math&code_verifier=y")
	f.Add(oauth.TokenPath, "grant_type=refresh_token&refresh_token=ory_rt_x.y&client_id=math&scope=a%20b")
	f.Add(oauth.AuthorizePath, "client_id=math&response_type=code&redirect_uri=org.example.math:/oauth/callback&state=0123456789&code_challenge=abc&code_challenge_method=S256")
	f.Add(oauth.RevokePath, "token=x&client_id=math&token_type_hint=refresh_token")
	f.Add(oauth.LaunchPath+"abc", "client_id=math")
	f.Add(oauth.AuthorizePath, "consent=zz&decision=allow")
	l := newLMS(f, authserver.AllowAll())
	f.Fuzz(func(t *testing.T, path, form string) {
		if !strings.HasPrefix(path, "/") {
			return
		}
		for _, method := range []string{"GET", "POST"} {
			target := path
			var body *strings.Reader
			if method == "GET" {
				target += "?" + form
				body = strings.NewReader("")
			} else {
				body = strings.NewReader(form)
			}
			r := httptest.NewRequest(method, "http://lms.example/", body)
			r.URL.Path = path
			if method == "GET" {
				r.URL.RawQuery = form
			}
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := httptest.NewRecorder()
			l.srv.ServeHTTP(w, r)
			if w.Code >= 500 {
				t.Fatalf("%s %s %q: %d %s", method, path, form, w.Code, w.Body)
			}
		}
	})
}
