//go:build linux

package authserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/internal/otheruser"
	"github.com/httpipc/httpipc/oauth"
	"github.com/httpipc/httpipc/oauth/authserver"
	"github.com/httpipc/httpipc/peercred"
	"github.com/httpipc/httpipc/proxy"
)

// The attacker's side of the two-user tests: one HTTP request, described
// by environment variables, made by the test binary running as nobody.
const (
	envAttack  = "HTTPIPC_TEST_ATTACK"  // the method; unset: not the attacker
	envURL     = "HTTPIPC_TEST_URL"     // the request URL
	envService = "HTTPIPC_TEST_SERVICE" // an ipc-service to send it over; "" for TCP
	envForm    = "HTTPIPC_TEST_FORM"    // a form body for POST
)

// attackResult is what the attacker prints.
type attackResult struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
	Err    string `json:"err"`
	UID    int    `json:"uid"`
}

// TestHelperAttacker makes the request the environment describes and
// prints its outcome; it does nothing in a normal test run.
func TestHelperAttacker(t *testing.T) {
	method := os.Getenv(envAttack)
	if method == "" {
		t.Skip("run by the two-user tests as the other user")
	}
	res := attackResult{UID: os.Getuid()}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if svc := os.Getenv(envService); svc != "" {
		c.Transport = &httpipc.Transport{Service: svc, Provider: httpipc.AllowAny(), Logger: quiet()}
	}
	var body io.Reader
	if f := os.Getenv(envForm); f != "" {
		body = strings.NewReader(f)
	}
	req, err := http.NewRequest(method, os.Getenv(envURL), body)
	if err == nil {
		if body != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		var resp *http.Response
		resp, err = c.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			res.Status, res.Body = resp.StatusCode, string(b)
		}
	}
	if err != nil {
		res.Err = err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(res)
}

// attack runs TestHelperAttacker as nobody.
func attack(t *testing.T, exe, method, target, service string, form url.Values) attackResult {
	t.Helper()
	cmd := otheruser.Command(exe, "-test.run=^TestHelperAttacker$")
	cmd.Env = append(cmd.Env, envAttack+"="+method, envURL+"="+target, envService+"="+service)
	if form != nil {
		cmd.Env = append(cmd.Env, envForm+"="+form.Encode())
	}
	out, err := cmd.Output()
	var res attackResult
	if err != nil || json.Unmarshal(out[:strings.IndexByte(string(out)+"\n", '\n')], &res) != nil {
		t.Fatalf("attacker: %v: %s", err, out)
	}
	if res.UID != otheruser.UID {
		t.Fatalf("the attacker ran as uid %d", res.UID)
	}
	return res
}

// openSocket serves l's endpoints on a socket in a directory nobody may
// enter, with the socket open to all and policy deciding who may talk.
func (l *lms) openSocket(t *testing.T, policy httpipc.Policy) string {
	t.Helper()
	sock := filepath.Join(otheruser.Dir(t), "lms.sock")
	ln, err := httpipc.Listen("unix:" + sock)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}
	hs := &httpipc.Server{Handler: l.mux, Policy: policy, Logger: quiet()}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return "unix:" + sock
}

// nobody, through the victim's localhost proxy, redeems a code: the proxy's
// uid is the victim's, so the token endpoint refuses anything that came
// through a proxy. The code stays good for the victim over IPC.
func TestOtherUserTokenThroughProxy(t *testing.T) {
	otheruser.Require(t)
	exe := otheruser.Executable(t)
	l := newLMS(t, authserver.AllowAll())
	// A proxy that admits other users, so that the token endpoint is what
	// refuses them.
	px := &proxy.Proxy{Service: "unix:" + l.sock, AllowOtherUsers: true, Logger: quiet()}
	ln, err := proxy.Listen("")
	if err != nil {
		t.Fatal(err)
	}
	go px.Serve(ln)
	t.Cleanup(func() { px.Close() })
	base := px.BaseURL(ln.Addr())

	code, verifier := freshCode(t, l)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}, "client_id": {"math"}, "redirect_uri": {mobileRedir}}
	res := attack(t, exe, "POST", base+oauth.TokenPath, "", form)
	var body map[string]string
	json.Unmarshal([]byte(res.Body), &body)
	if res.Status != 400 || body["error"] != "invalid_request" || !strings.Contains(body["error_description"], "proxy") {
		t.Fatalf("nobody's token request through the proxy: %+v", res)
	}
	// The victim's own request through the proxy is refused by the server
	// too: the proxy's uid is never bound.
	resp, err := http.PostForm(base+oauth.TokenPath, form)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 400 || body["error"] != "invalid_request" {
		t.Fatalf("token request through the proxy: %s %v", resp.Status, body)
	}
	if status, body := tokenRequest(t, l, form); status != 200 {
		t.Fatalf("the code over IPC: %d %v", status, body)
	}
}

// nobody knows the state (a browser's command line is public) and sends
// the loopback listener a redirect with a code of its own: it gets 403,
// and the login finishes with the real redirect.
func TestOtherUserLoopbackForgery(t *testing.T) {
	otheruser.Require(t)
	exe := otheruser.Executable(t)
	ctx := context.Background()
	l := newLMS(t, authserver.AllowAll())
	cfg := l.config()
	cfg.OAuth2.RedirectURL = "http://127.0.0.1/callback"
	// The attacker's code: a real one, for the attacker's own verifier.
	attackerCode, _ := freshCode(t, l)
	var forged attackResult
	s, err := cfg.LoopbackLogin(ctx, func(authURL string) error {
		u, err := url.Parse(authURL)
		if err != nil {
			return err
		}
		q := u.Query()
		redirect := q.Get("redirect_uri") + "?" + url.Values{"code": {attackerCode}, "state": {q.Get("state")},
			oauth.ParamIPCService: {service}, oauth.ParamIssuer: {issuer}}.Encode()
		forged = attack(t, exe, "GET", redirect, "", nil)
		// Then the browser, as this user.
		loc := l.authorize(t, authURL)
		go func() {
			resp, err := http.Get(loc)
			if err == nil {
				resp.Body.Close()
			}
		}()
		return nil
	})
	if err != nil {
		t.Fatalf("login after the forgery: %v", err)
	}
	if forged.Status != http.StatusForbidden || !strings.Contains(forged.Body, "another user") {
		t.Fatalf("forged redirect from nobody: %+v", forged)
	}
	if code, body := get(t, s.Client(ctx), issuer+"/api/me"); code != 200 {
		t.Fatalf("API: %d %s", code, body)
	}
	if _, err := l.srv.Verify(ctx, s.Token().AccessToken, peercred.Self()); err != nil {
		t.Fatal(err)
	}
}

// nobody fetches a launch link meant for this user: refused, and the link
// still works for this user. nobody may connect here (the policy admits
// it), so the refusal is the launch's own.
func TestOtherUserLaunchLink(t *testing.T) {
	otheruser.Require(t)
	exe := otheruser.Executable(t)
	ctx := context.Background()
	l := newLMS(t, authserver.AllowAll())
	addr := l.openSocket(t, httpipc.AnyOf(httpipc.SameUser(), httpipc.AllowUIDs(otheruser.UID)))
	uid := peercred.Self().UID
	link, err := l.srv.Launch(ctx, "math", issuer+"/api", "bob", []string{"roster.read"}, &uid)
	if err != nil {
		t.Fatal(err)
	}
	fetch := launchFetchURL(t, link)
	res := attack(t, exe, "POST", fetch, addr, url.Values{"client_id": {"math"}})
	if res.Status != 400 || !strings.Contains(res.Body, "invalid_grant") || !strings.Contains(res.Body, fmt.Sprintf("not uid %d", otheruser.UID)) {
		t.Fatalf("nobody's fetch: %+v", res)
	}
	s, endpoint, err := l.config().Launch(ctx, link)
	if err != nil {
		t.Fatalf("this user's fetch after nobody's: %v", err)
	}
	if code, body := get(t, s.Client(ctx), endpoint+"/me"); code != 200 || body != "bob via math" {
		t.Fatalf("API: %d %s", code, body)
	}
}

// nobody connecting to an authorization app with the client policy is
// refused before any request, until a client names its uid.
func TestOtherUserClientPolicy(t *testing.T) {
	otheruser.Require(t)
	exe := otheruser.Executable(t)
	ctx := context.Background()
	l := newLMS(t, authserver.AllowAll())
	addr := l.openSocket(t, l.store.ClientPolicy())
	res := attack(t, exe, "GET", issuer+oauth.MetadataPath, addr, nil)
	if res.Status != 0 || !strings.Contains(res.Err, httpipc.ErrRefused.Error()) {
		t.Fatalf("nobody connecting: %+v", res)
	}
	nobody := otheruser.UID
	if err := l.store.AddClient(ctx, authserver.Client{ID: "nobody-app", RedirectURIs: []string{mobileRedir}, UID: &nobody}); err != nil {
		t.Fatal(err)
	}
	if res := attack(t, exe, "GET", issuer+oauth.MetadataPath, addr, nil); res.Status != 200 {
		t.Fatalf("nobody as a registered client's uid: %+v", res)
	}
}
