package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// echo is a provider that shows what reached it.
func echo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "path=%s query=%s cookie=%q forwarded=%q", r.URL.Path, r.URL.RawQuery, r.Header.Get("Cookie"), r.Header.Values("Forwarded"))
	})
}

// serve runs p on a free loopback port and returns its address.
func serve(t *testing.T, p *Proxy) net.Addr {
	t.Helper()
	if p.Logger == nil {
		p.Logger = quiet()
	}
	ln, err := Listen("")
	if err != nil {
		t.Fatal(err)
	}
	go p.Serve(ln)
	t.Cleanup(func() { p.Close() })
	return ln.Addr()
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// A proxy mounted in a server that does not record connections cannot
// check the caller's user: it refuses rather than admit everyone.
func TestUserCheckNeedsConnContext(t *testing.T) {
	p := &Proxy{Service: providerFor(t, echo()), Logger: quiet()}
	srv := httptest.NewServer(p)
	defer srv.Close()
	if resp, body := get(t, srv.Client(), srv.URL+"/x"); resp.StatusCode != 403 || !strings.Contains(body, "set http.Server.ConnContext to proxy.ConnContext") {
		t.Fatalf("without ConnContext: %d %q", resp.StatusCode, body)
	}
	srv2 := httptest.NewUnstartedServer(p)
	srv2.Config.ConnContext = ConnContext
	srv2.Start()
	defer srv2.Close()
	if resp, body := get(t, srv2.Client(), srv2.URL+"/x"); resp.StatusCode != 200 {
		t.Fatalf("with ConnContext: %d %q", resp.StatusCode, body)
	}
}

// opaqueListener hides its address type, as a listener whose peers' users
// cannot be looked up (TCP on macOS, Windows, Android) looks to the proxy.
type opaqueListener struct{ net.Listener }

type opaqueAddr struct{}

func (opaqueAddr) Network() string { return "opaque" }
func (opaqueAddr) String() string  { return "opaque" }

type opaqueConn struct{ net.Conn }

func (opaqueConn) LocalAddr() net.Addr  { return opaqueAddr{} }
func (l opaqueListener) Addr() net.Addr { return opaqueAddr{} }
func (l opaqueListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return opaqueConn{c}, nil
}

// Where the user cannot be looked up, a zero-value proxy requires a secret
// of its own making, which BaseURL includes; AllowOtherUsers drops it.
func TestSelfMadeSecret(t *testing.T) {
	svc := providerFor(t, echo())
	for _, tc := range []struct {
		name       string
		p          *Proxy
		wantSecret bool
	}{
		{"default", &Proxy{Service: svc}, true},
		{"allow other users", &Proxy{Service: svc, AllowOtherUsers: true}, false},
		{"browser sessions", &Proxy{Service: svc, BrowserSessions: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.p.Logger = quiet()
			tcp, err := Listen("")
			if err != nil {
				t.Fatal(err)
			}
			ln := opaqueListener{tcp}
			go tc.p.Serve(ln)
			defer tc.p.Close()
			base := tc.p.BaseURL(ln.Addr())
			c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "tcp", tcp.Addr().String())
			}}}
			if !tc.wantSecret {
				if base != "http://localhost" {
					t.Fatalf("base URL %s", base)
				}
				return
			}
			secret := strings.TrimPrefix(base, "http://localhost/")
			if len(secret) < 20 || strings.Contains(secret, "/") {
				t.Fatalf("base URL %s carries no secret", base)
			}
			if resp, body := get(t, c, base+"/x"); resp.StatusCode != 200 || !strings.HasPrefix(body, "path=/x ") {
				t.Fatalf("with the secret: %d %q", resp.StatusCode, body)
			}
			if resp, body := get(t, c, "http://localhost/x"); resp.StatusCode != 403 || !strings.Contains(body, "missing or wrong proxy secret") {
				t.Fatalf("without the secret: %d %q", resp.StatusCode, body)
			}
			if again := tc.p.BaseURL(ln.Addr()); again != base {
				t.Fatalf("base URL changed: %s, then %s", base, again)
			}
		})
	}
}

// A launch URL works once and gives its browser a session cookie that
// every later request needs; the provider never sees that cookie.
func TestBrowserSessions(t *testing.T) {
	p := &Proxy{Service: providerFor(t, echo()), BrowserSessions: true}
	addr := serve(t, p)
	root := "http://" + addr.String()
	noRedirect := func(jar http.CookieJar) *http.Client {
		return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}

	for _, bad := range []string{"//evil.example/x", "http://evil.example/", "x", "/\\evil.example"} {
		if _, err := p.LaunchURL(addr, bad); err == nil {
			t.Errorf("launch target %q accepted", bad)
		}
	}
	if _, err := (&Proxy{}).LaunchURL(addr, "/"); err == nil {
		t.Error("LaunchURL without BrowserSessions")
	}

	launch, err := p.LaunchURL(addr, "/page?lesson=7")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(launch, root+LaunchPrefix) || strings.Contains(launch, "lesson") {
		t.Fatalf("launch URL %s", launch)
	}
	jar, _ := cookiejar.New(nil)
	resp, _ := get(t, noRedirect(jar), launch)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/page?lesson=7" {
		t.Fatalf("launch: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 || cookies[0].Name != cookieName(addr) || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode || cookies[0].Path != "/" {
		t.Fatalf("cookies %v", resp.Header.Values("Set-Cookie"))
	}
	session := cookies[0].Value

	t.Run("the launch URL works once", func(t *testing.T) {
		resp, body := get(t, noRedirect(nil), launch)
		if resp.StatusCode != 403 || body != "httpipc proxy: this launch link was already used or has expired; start again from the app\n" || len(resp.Cookies()) != 0 {
			t.Fatalf("second use: %d %q", resp.StatusCode, body)
		}
	})
	t.Run("no cookie", func(t *testing.T) {
		resp, body := get(t, noRedirect(nil), root+"/page")
		if resp.StatusCode != 403 || !strings.Contains(body, "no session of this proxy") {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
	})
	t.Run("forged cookie", func(t *testing.T) {
		req, _ := http.NewRequest("GET", root+"/page", nil)
		req.AddCookie(&http.Cookie{Name: cookieName(addr), Value: NewSecret()})
		if resp, body := do(t, req); resp.StatusCode != 403 {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
	})
	t.Run("with the cookie", func(t *testing.T) {
		req, _ := http.NewRequest("GET", root+"/page?lesson=7", nil)
		req.AddCookie(&http.Cookie{Name: "theme", Value: "dark"})
		req.AddCookie(&http.Cookie{Name: cookieName(addr), Value: session})
		req.AddCookie(&http.Cookie{Name: "lang", Value: "en"})
		resp, body := do(t, req)
		if resp.StatusCode != 200 || !strings.HasPrefix(body, `path=/page query=lesson=7 cookie="theme=dark; lang=en" `) {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
		if strings.Contains(body, session) {
			t.Fatalf("the session cookie reached the provider: %s", body)
		}
	})
	t.Run("a browser follows the launch URL", func(t *testing.T) {
		launch, err := p.LaunchURL(addr, "/page")
		if err != nil {
			t.Fatal(err)
		}
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		if resp, body := get(t, c, launch); resp.StatusCode != 200 || !strings.HasPrefix(body, "path=/page ") {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
		if resp, body := get(t, c, root+"/other"); resp.StatusCode != 200 || !strings.HasPrefix(body, "path=/other ") {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
	})
	t.Run("the launch URL's query goes to the page", func(t *testing.T) {
		for _, tc := range []struct{ target, query, want string }{
			{"/page", "endpoint=http%3A%2F%2F127.0.0.1%2Fxapi%2F&registration=r-1", "/page?endpoint=http%3A%2F%2F127.0.0.1%2Fxapi%2F&registration=r-1"},
			{"/page?lesson=7", "registration=r-1", "/page?lesson=7&registration=r-1"},
			{"/page?lesson=7", "", "/page?lesson=7"},
		} {
			launch, err := p.LaunchURL(addr, tc.target)
			if err != nil {
				t.Fatal(err)
			}
			if tc.query != "" {
				launch += "?" + tc.query
			}
			resp, _ := get(t, noRedirect(nil), launch)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != tc.want {
				t.Errorf("%s + %q: %d to %q, want %q", tc.target, tc.query, resp.StatusCode, resp.Header.Get("Location"), tc.want)
			}
		}
	})
	t.Run("launch with POST", func(t *testing.T) {
		launch, _ := p.LaunchURL(addr, "/page")
		resp, err := http.Post(launch, "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 {
			t.Fatalf("%d", resp.StatusCode)
		}
		// A refused method does not use the link up.
		if resp, _ := get(t, noRedirect(nil), launch); resp.StatusCode != 303 {
			t.Fatalf("GET after POST: %d", resp.StatusCode)
		}
	})
}

// Paths limits what is forwarded, on clean paths only.
func TestPaths(t *testing.T) {
	base := start(t, &Proxy{Service: providerFor(t, echo()), Paths: []string{"/oauth/authorize", "/lesson/"}})
	for path, want := range map[string]int{
		"/oauth/authorize":              200,
		"/oauth/authorize?x=1":          200,
		"/lesson/":                      200,
		"/lesson/a/b.js":                200,
		"/oauth/token":                  404,
		"/oauth/authorize/":             404,
		"/oauth/authorize/../token":     404,
		"/lesson/../oauth/token":        404,
		"/lesson/./x":                   404,
		"/lesson//x":                    404,
		"/lesson":                       404,
		"/":                             404,
		"/oauth/%74oken":                404,
		"/oauth/authorize%2F..%2Ftoken": 404,
	} {
		req, _ := http.NewRequest("GET", base+"/", nil)
		req.URL.Opaque = path // sent as written
		if p, q, ok := strings.Cut(path, "?"); ok {
			req.URL.Opaque, req.URL.RawQuery = p, q
		}
		resp, body := do(t, req)
		if resp.StatusCode != want {
			t.Errorf("%s: %d %q, want %d", path, resp.StatusCode, body, want)
		}
		if want == 404 && !strings.HasPrefix(body, "httpipc proxy: this proxy does not forward") {
			t.Errorf("%s: %q", path, body)
		}
	}
}

// The provider always gets exactly the Forwarded field the proxy wrote,
// whatever the client sent: a client cannot make a proxied request look
// direct, nor name another client.
func TestForwardedCannotBeRemoved(t *testing.T) {
	addr := serve(t, &Proxy{Service: providerFor(t, echo())})
	for name, headers := range map[string]string{
		"none":                     "",
		"forged":                   "Forwarded: for=\"203.0.113.9\";by=nobody\r\n",
		"forged twice, lower case": "forwarded: for=a\r\nFORWARDED: for=b\r\n",
		"hop-by-hop":               "Forwarded: for=a\r\nConnection: Forwarded\r\n",
		"empty":                    "Forwarded:\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr.String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprintf(c, "GET /x HTTP/1.1\r\nHost: %s\r\n%sConnection: close\r\n\r\n", addr, headers)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			want := fmt.Sprintf(`forwarded=["for=\"%s\";host=\"%s\";proto=http"]`, c.LocalAddr(), addr)
			if resp.StatusCode != 200 || !strings.HasSuffix(string(b), want) {
				t.Fatalf("%d %s, want ...%s", resp.StatusCode, b, want)
			}
		})
	}
}

// No log line carries a credential: the secret in the path, a launch token,
// a session cookie, or OAuth codes and tokens in a query.
func TestLogsRedacted(t *testing.T) {
	var logs strings.Builder
	log := textLogger(&logs)
	dead := "unix:" + filepath.Join(t.TempDir(), "none.sock")
	secret := NewSecret()
	withSecret := &Proxy{Service: dead, Secret: secret, Logger: log}
	base := start(t, withSecret)
	sessions := &Proxy{Service: dead, BrowserSessions: true, Logger: log}
	addr := serve(t, sessions)

	const code, access, refresh = "c0de-c0de-c0de", "acc3ss-t0ken", "r3fresh-t0ken"
	query := "?code=" + code + "&access_token=" + access + "&refresh_token=" + refresh + "&state=visible-state"
	// A refusal before the secret is taken, with the secret in the path.
	req, _ := http.NewRequest("GET", base+"/cb"+query, nil)
	req.Host = "evil.example"
	do(t, req)
	// A forwarding failure after it.
	req, _ = http.NewRequest("GET", base+"/cb"+query, nil)
	do(t, req)
	// The secret in the header, refused for a foreign origin.
	req, _ = http.NewRequest("GET", strings.TrimSuffix(base, "/"+secret)+"/cb", nil)
	req.Header.Set(SecretHeader, secret)
	req.Header.Set("Origin", "https://evil.example")
	do(t, req)
	// A launch, its reuse, and requests with the session cookie.
	launch, err := sessions.LaunchURL(addr, "/cb"+query)
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimPrefix(launch, "http://"+addr.String()+LaunchPrefix)
	jar, _ := cookiejar.New(nil)
	get(t, &http.Client{Jar: jar}, launch)
	get(t, http.DefaultClient, launch)
	req, _ = http.NewRequest("GET", "http://"+addr.String()+"/cb"+query, nil)
	var session string
	for _, c := range jar.Cookies(req.URL) {
		session = c.Value
		req.AddCookie(c)
	}
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	do(t, req)

	out := logs.String()
	for name, s := range map[string]string{"secret": secret, "launch token": token, "session": session, "code": code, "access token": access, "refresh token": refresh} {
		if s == "" {
			t.Fatalf("no %s to look for", name)
		}
		if strings.Contains(out, s) {
			t.Errorf("the %s is in the logs", name)
		}
	}
	for _, want := range []string{
		"url=\"/REDACTED/cb?code=REDACTED&access_token=REDACTED&refresh_token=REDACTED&state=visible-state\"",
		"url=\"/cb?code=REDACTED&access_token=REDACTED&refresh_token=REDACTED&state=visible-state\"",
		"url=" + LaunchPrefix + "REDACTED",
		"browser session started",
		"status=502",
		"status=501",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %s in the logs", want)
		}
	}
	if t.Failed() {
		t.Log(out)
	}
}

// Guard puts the proxy's checks in front of what the app serves itself.
func TestGuardHandler(t *testing.T) {
	p := &Proxy{Service: providerFor(t, echo()), BrowserSessions: true, Logger: quiet()}
	mux := http.NewServeMux()
	mux.Handle("GET /app/", p.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "page of the app")
	})))
	mux.Handle("/", p)
	ln, err := Listen("")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ConnContext: ConnContext}
	go srv.Serve(ln)
	defer srv.Close()
	root := "http://" + ln.Addr().String()
	if resp, body := get(t, http.DefaultClient, root+"/app/x"); resp.StatusCode != 403 {
		t.Fatalf("without a session: %d %q", resp.StatusCode, body)
	}
	launch, _ := p.LaunchURL(ln.Addr(), "/app/x")
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	if resp, body := get(t, c, launch); resp.StatusCode != 200 || body != "page of the app" {
		t.Fatalf("through the launch URL: %d %q", resp.StatusCode, body)
	}
	if resp, body := get(t, c, root+"/api"); resp.StatusCode != 200 || !strings.HasPrefix(body, "path=/api ") {
		t.Fatalf("the API: %d %q", resp.StatusCode, body)
	}
}
