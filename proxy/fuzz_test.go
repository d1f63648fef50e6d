package proxy

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzGuard feeds the checks arbitrary Host, Origin, path and headers: they
// must answer or pass, never panic, and never pass a foreign Host.
func FuzzGuard(f *testing.F) {
	f.Add("127.0.0.1:8080", "", "/s3cret/x", "", "")
	f.Add("evil.example", "https://evil.example", "/", "cross-site", "websocket")
	f.Add("[::1]:8080", "http://[::1]:8080", "//", "same-origin", "")
	f.Add("localhost", "null", "/s3cret", "none", "")
	p := &Proxy{Secret: "s3cret", AllowOrigins: []string{"https://app.example"}, Logger: quiet()}
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	f.Fuzz(func(t *testing.T, host, origin, path, site, upgrade string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = host
		r.URL.Path = path
		r.Header.Set("Origin", origin)
		r.Header.Set("Sec-Fetch-Site", site)
		r.Header.Set("Upgrade", upgrade)
		r.Header.Set("Connection", "upgrade")
		r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, local))
		w := httptest.NewRecorder()
		if _, ok := p.guard(w, r); ok && !ownHost(host, 8080) {
			t.Fatalf("Host %q passed", host)
		}
	})
}
