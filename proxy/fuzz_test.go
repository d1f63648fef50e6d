package proxy

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// refOwnHost is the documented rule for a Host that names a proxy on port
// 8080, written apart from the guard's own code: localhost (in any case),
// an IPv4 loopback address (127.0.0.0/8), or in brackets the IPv6 loopback
// (or an IPv4 loopback mapped into IPv6), then ":8080". A proxy not on port
// 80 is never named by a Host without a port.
func refOwnHost(host string) bool {
	name, ok := strings.CutSuffix(host, ":8080")
	if !ok {
		return false
	}
	if strings.EqualFold(name, "localhost") {
		return true
	}
	if inner, ok := strings.CutPrefix(name, "["); ok {
		inner, ok = strings.CutSuffix(inner, "]")
		a, err := netip.ParseAddr(inner)
		if !ok || err != nil || a.Zone() != "" {
			return false
		}
		if a.Is4In6() {
			return a.Unmap().As4()[0] == 127
		}
		return a == netip.IPv6Loopback()
	}
	a, err := netip.ParseAddr(name)
	return err == nil && a.Is4() && a.As4()[0] == 127
}

// FuzzGuard feeds the checks arbitrary Host, Origin, path, headers and
// cookies: they must answer or pass, never panic, never pass a Host that is
// not the proxy's (by refOwnHost), never pass without the secret, pass the
// secret proxy exactly when the documented rules say so, never pass a
// browser-session proxy without its session cookie, and never leave a
// credential in a log line.
func FuzzGuard(f *testing.F) {
	f.Add("127.0.0.1:8080", "", "/s3cret-s3cret/x", "", "", "", "")
	f.Add("evil.example", "https://evil.example", "/", "cross-site", "websocket", "", "")
	f.Add("[::1]:8080", "http://[::1]:8080", "//", "same-origin", "", "s3cret-s3cret", "")
	f.Add("localhost", "null", "/s3cret-s3cret", "none", "", "", "httpipc-proxy-8080=x")
	f.Add("127.0.0.1:8080", "", LaunchPrefix+"tok", "none", "", "", "a=b; httpipc-proxy-8080=")
	f.Add("LocalHost:8080", "https://app.example", "/x", "cross-site", "", "s3cret-s3cret", "")
	f.Add("127.1.2.3:8080", "http://localhost:8080", "/s3cret-s3cret/y", "same-origin", "", "", "")
	f.Add("[::ffff:127.0.0.1]:8080", "", "/", "", "", "s3cret-s3cret", "")
	f.Add("127.0.0.1", "", "/s3cret-s3cret", "", "", "", "")
	f.Add("evil.example:8080", "", "/", "", "", "s3cret-s3cret", "")
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
			if ok && !refOwnHost(host) {
				t.Fatalf("Host %q passed", host)
			}
			if ok && p == secretProxy && !hadSecret {
				t.Fatalf("passed without the secret: path %q header %q", path, header)
			}
			// The secret proxy refuses exactly what the documented rules
			// refuse (it admits every user; Sec-Fetch-Site does not count
			// where a secret is required).
			if p == secretProxy {
				originOK := origin == "" || origin == "https://app.example"
				if rest, ok := strings.CutPrefix(origin, "http://"); ok && refOwnHost(rest) {
					originOK = true
				}
				secretOK := header == secret
				if header == "" {
					secretOK = path == "/"+secret || strings.HasPrefix(path, "/"+secret+"/")
				}
				want := refOwnHost(host) && originOK && secretOK && upgrade == ""
				if ok != want {
					t.Fatalf("host %q origin %q path %q header %q upgrade %q: passed %v, want %v (%d %q)",
						host, origin, path, header, upgrade, ok, want, w.Code, w.Body.String())
				}
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
