package proxy

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LaunchPrefix is the path under which a launch URL (Proxy.LaunchURL)
// carries its one-time token: /.httpipc-launch/TOKEN. The proxy answers it
// itself; it never reaches the provider.
const LaunchPrefix = "/.httpipc-launch/"

// LaunchTTL is how long a launch URL stays usable if nobody opens it.
const LaunchTTL = 10 * time.Minute

// maxLaunches bounds the launch URLs waiting to be opened.
const maxLaunches = 1000

// sessions holds a proxy's unused launch tokens and its browser sessions,
// both by the SHA-256 of their value.
type sessions struct {
	mu       sync.Mutex
	launches map[[32]byte]launch
	active   map[[32]byte]struct{}
}

type launch struct {
	target  string // path and query to redirect to
	expires time.Time
}

// LaunchURL returns a one-time URL that opens target (a path with an
// optional query, such as "/lesson/index.html") on the proxy serving on
// addr, for a proxy with BrowserSessions set. The first request for it
// gets a session cookie and a redirect to target; the URL then no longer
// works, and it expires after LaunchTTL if nobody opens it. Hand it to the
// user's browser or web view; whoever opens it first gets the session. A
// query added to the launch URL is added to target's in the redirect, so
// that whoever launches the page can pass it parameters (a cmi5 LMS adds
// its launch parameters to the URL of an assignable unit this way).
func (p *Proxy) LaunchURL(addr net.Addr, target string) (string, error) {
	if !p.BrowserSessions {
		return "", errors.New("proxy: LaunchURL needs BrowserSessions")
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || !strings.HasPrefix(target, "/") || strings.HasPrefix(target, "//") || strings.ContainsAny(target, "\\\r\n") {
		return "", fmt.Errorf("proxy: launch target %q is not a path on the proxy", target)
	}
	p.once.Do(p.init)
	if s := p.secretFor(addr, false); s != "" {
		target = "/" + s + target
	}
	token := NewSecret()
	now := time.Now()
	p.sess.mu.Lock()
	defer p.sess.mu.Unlock()
	for k, l := range p.sess.launches {
		if now.After(l.expires) {
			delete(p.sess.launches, k)
		}
	}
	if len(p.sess.launches) >= maxLaunches {
		return "", errors.New("proxy: too many launch URLs waiting to be opened")
	}
	if p.sess.launches == nil {
		p.sess.launches = map[[32]byte]launch{}
	}
	p.sess.launches[sha256.Sum256([]byte(token))] = launch{target: target, expires: now.Add(LaunchTTL)}
	base := url.URL{Scheme: "http", Host: "localhost", Path: LaunchPrefix + token}
	if a, ok := addr.(*net.TCPAddr); ok {
		base.Host = a.String()
	}
	return base.String(), nil
}

// launch trades a launch URL's token for a session cookie.
func (p *Proxy) launch(w http.ResponseWriter, r *http.Request, local net.Addr) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		p.refuse(w, r, "", http.StatusMethodNotAllowed, "a launch link is opened with GET")
		return
	}
	token := strings.TrimPrefix(r.URL.Path, LaunchPrefix)
	key := sha256.Sum256([]byte(token))
	p.sess.mu.Lock()
	l, ok := p.sess.launches[key]
	delete(p.sess.launches, key)
	var session string
	if ok && time.Now().Before(l.expires) {
		session = NewSecret()
		if p.sess.active == nil {
			p.sess.active = map[[32]byte]struct{}{}
		}
		p.sess.active[sha256.Sum256([]byte(session))] = struct{}{}
	}
	p.sess.mu.Unlock()
	if session == "" {
		p.refuse(w, r, "", http.StatusForbidden, "this launch link was already used or has expired; start again from the app")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName(local), Value: session, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	target := l.target
	if q := r.URL.RawQuery; q != "" {
		if strings.Contains(target, "?") {
			target += "&" + q
		} else {
			target += "?" + q
		}
	}
	h.Set("Location", target)
	w.WriteHeader(http.StatusSeeOther)
	p.logger().Info("httpipc proxy: browser session started", "remote", r.RemoteAddr)
}

// valid reports whether r carries a session cookie of this proxy.
func (s *sessions) valid(r *http.Request, name string) bool {
	cookies := r.CookiesNamed(name)
	if len(cookies) == 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cookies {
		if _, ok := s.active[sha256.Sum256([]byte(c.Value))]; ok {
			return true
		}
	}
	return false
}

// cookiePrefix starts the name of every session cookie.
const cookiePrefix = "httpipc-proxy"

// cookieName names the session cookie of a proxy on local. Browsers share
// cookies between the ports of a host, so the name carries the port: two
// proxies on 127.0.0.1 do not overwrite each other's session.
func cookieName(local net.Addr) string {
	if a, ok := local.(*net.TCPAddr); ok {
		return cookiePrefix + "-" + strconv.Itoa(a.Port)
	}
	return cookiePrefix
}

// dropSessionCookies removes the proxies' session cookies from h: they are
// the proxy's credentials, not the provider's.
func dropSessionCookies(h http.Header) {
	lines := h.Values("Cookie")
	if len(lines) == 0 {
		return
	}
	ours := false
	for _, line := range lines {
		ours = ours || strings.Contains(line, cookiePrefix)
	}
	if !ours {
		return
	}
	var kept []string
	for _, line := range lines {
		for _, pair := range strings.Split(line, ";") {
			pair = strings.TrimSpace(pair)
			if name, _, _ := strings.Cut(pair, "="); pair != "" && !strings.HasPrefix(strings.TrimSpace(name), cookiePrefix) {
				kept = append(kept, pair)
			}
		}
	}
	h.Del("Cookie")
	if len(kept) > 0 {
		h.Set("Cookie", strings.Join(kept, "; "))
	}
}
