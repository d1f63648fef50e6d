package proxy

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzGuard feeds the checks arbitrary Host, Origin, path, headers and
// cookies: they must answer or pass, never panic, never pass a foreign Host,
// never pass without the secret, never pass a browser-session proxy without
// its session cookie, and never leave a credential in a log line.
func FuzzGuard(f *testing.F) {
	f.Add("127.0.0.1:8080", "", "/s3cret-s3cret/x", "", "", "", "")
	f.Add("evil.example", "https://evil.example", "/", "cross-site", "websocket", "", "")
	f.Add("[::1]:8080", "http://[::1]:8080", "//", "same-origin", "", "s3cret-s3cret", "")
	f.Add("localhost", "null", "/s3cret-s3cret", "none", "", "", "httpipc-proxy-8080=x")
	f.Add("127.0.0.1:8080", "", LaunchPrefix+"tok", "none", "", "", "a=b; httpipc-proxy-8080=")
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	const secret = "s3cret-s3cret"
	f.Fuzz(func(t *testing.T, host, origin, path, site, upgrade, header, cookie string) {
		var logs strings.Builder // the secret proxy's
		secretProxy := &Proxy{Secret: secret, AllowOtherUsers: true, AllowOrigins: []string{"https://app.example"}, Logger: textLogger(&logs)}
		sessionProxy := &Proxy{BrowserSessions: true, AllowOtherUsers: true, Logger: quiet()}
		for _, p := range []*Proxy{secretProxy, sessionProxy} {
			p.once.Do(p.init)
			r := httptest.NewRequest("GET", "/", nil)
			r.Host = host
			r.URL.Path = path
			r.Header.Set("Origin", origin)
			r.Header.Set("Sec-Fetch-Site", site)
			r.Header.Set("Upgrade", upgrade)
			r.Header.Set("Connection", "upgrade")
			r.Header.Set(SecretHeader, header)
			r.Header.Set("Cookie", cookie)
			r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, local))
			w := httptest.NewRecorder()
			hadSecret := header == secret || strings.HasPrefix(path, "/"+secret)
			_, ok := p.guard(w, r)
			if ok && !ownHost(host, 8080) {
				t.Fatalf("Host %q passed", host)
			}
			if ok && p == secretProxy && !hadSecret {
				t.Fatalf("passed without the secret: path %q header %q", path, header)
			}
			if ok && p == sessionProxy {
				t.Fatalf("passed without a session: cookie %q", cookie)
			}
			if ok {
				h := r.Header.Clone()
				dropSessionCookies(h)
				if strings.Contains(h.Get("Cookie"), cookiePrefix) {
					t.Fatalf("session cookie forwarded: %q", h.Get("Cookie"))
				}
			}
		}
		// The secret may be in the log only where it is not in the secret's
		// place: in Host or Origin (quoted in reasons), or past the path's
		// first segment.
		elsewhere := host + origin + site + upgrade
		if rest, ok := strings.CutPrefix(path, "/"); ok {
			_, tail, _ := strings.Cut(rest, "/")
			elsewhere += tail
		} else {
			elsewhere += path
		}
		if strings.Contains(logs.String(), secret) && !strings.Contains(elsewhere, secret) {
			t.Fatalf("the secret is in the logs:\n%s", logs.String())
		}
	})
}
