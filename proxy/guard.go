package proxy

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/httpipc/httpipc/peercred"
)

type connKey struct{}

// ConnContext records the connection in ctx, for Proxy.SameUser. Serve sets
// it; a server of the app's own that mounts the Proxy as a handler sets it
// as its http.Server.ConnContext.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

var withConn = ConnContext

type corsKey struct{}

// corsInfo is what the guard decided about the request's origin.
type corsInfo struct {
	origin    string // an allowed foreign origin, or ""
	preflight bool   // answered here
}

// guard applies the checks; on refusal it answers and returns false.
func (p *Proxy) guard(w http.ResponseWriter, r *http.Request) (corsInfo, bool) {
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	tcp, isTCP := local.(*net.TCPAddr)

	// DNS rebinding: a page of evil.example whose name now resolves to
	// 127.0.0.1 sends Host: evil.example.
	if isTCP && !ownHost(r.Host, tcp.Port) {
		return corsInfo{}, p.refuse(w, r, http.StatusMisdirectedRequest,
			fmt.Sprintf("Host %q is not this proxy's address (127.0.0.1:%d or localhost:%d)", r.Host, tcp.Port, tcp.Port))
	}

	if p.SameUser {
		if msg := p.checkUser(r); msg != "" {
			return corsInfo{}, p.refuse(w, r, http.StatusForbidden, msg)
		}
	}

	var info corsInfo
	origin := r.Header.Get("Origin")
	switch {
	case origin == "":
		// Browsers omit Origin on plain GETs of images, scripts and the
		// like; Sec-Fetch-Site still says where they come from.
		if site := r.Header.Get("Sec-Fetch-Site"); (site == "cross-site" || site == "same-site") && p.Secret == "" {
			return info, p.refuse(w, r, http.StatusForbidden,
				"request from another site (Sec-Fetch-Site: "+site+") refused; the embedding app can pass a secret")
		}
	case isTCP && ownOrigin(origin, tcp.Port):
	case slices.Contains(p.AllowOrigins, origin):
		info.origin = origin
	default:
		return info, p.refuse(w, r, http.StatusForbidden, "cross-origin request from "+origin+" refused: not an allowed origin")
	}

	// A CORS preflight carries no credentials and no secret: answer it
	// for allowed origins without forwarding.
	if r.Method == http.MethodOptions && info.origin != "" && r.Header.Get("Access-Control-Request-Method") != "" {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", info.origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Set("Access-Control-Allow-Methods", r.Header.Get("Access-Control-Request-Method"))
		if hdrs := r.Header.Get("Access-Control-Request-Headers"); hdrs != "" {
			h.Set("Access-Control-Allow-Headers", hdrs)
		}
		if r.Header.Get("Access-Control-Request-Private-Network") == "true" {
			h.Set("Access-Control-Allow-Private-Network", "true")
		}
		h.Set("Access-Control-Max-Age", "600")
		h.Add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
		w.WriteHeader(http.StatusNoContent)
		info.preflight = true
		return info, true
	}

	if p.Secret != "" && !p.takeSecret(r) {
		return info, p.refuse(w, r, http.StatusForbidden, "missing or wrong proxy secret (first path segment or "+SecretHeader+" header)")
	}

	if upgrade := r.Header.Get("Upgrade"); upgrade != "" && hasToken(r.Header.Values("Connection"), "upgrade") {
		return info, p.refuse(w, r, http.StatusNotImplemented,
			"protocol upgrade to "+upgrade+" is not carried over httpipc (request and response messages only)")
	}
	return info, true
}

// takeSecret checks the secret and removes it from the path.
func (p *Proxy) takeSecret(r *http.Request) bool {
	if h := r.Header.Get(SecretHeader); h != "" {
		return subtle.ConstantTimeCompare([]byte(h), []byte(p.Secret)) == 1
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/")
	if !ok {
		return false
	}
	seg, tail, _ := strings.Cut(rest, "/")
	if subtle.ConstantTimeCompare([]byte(seg), []byte(p.Secret)) != 1 {
		return false
	}
	r.URL.Path = "/" + tail
	if r.URL.RawPath != "" {
		if _, rawTail, ok := strings.Cut(strings.TrimPrefix(r.URL.RawPath, "/"), "/"); ok {
			r.URL.RawPath = "/" + rawTail
		} else {
			r.URL.RawPath = ""
		}
	}
	return true
}

// checkUser returns why the connection is refused, or "".
func (p *Proxy) checkUser(r *http.Request) string {
	c, _ := r.Context().Value(connKey{}).(net.Conn)
	if c == nil {
		return "the proxy cannot see the connection to check its user (set http.Server.ConnContext to proxy.ConnContext)"
	}
	var creds *peercred.Creds
	var err error
	if _, isTCP := c.LocalAddr().(*net.TCPAddr); isTCP {
		creds, err = peercred.Loopback(c)
	} else {
		creds, err = peercred.Get(c)
	}
	if err != nil {
		return "cannot tell which user is calling: " + err.Error()
	}
	if creds.UID != os.Getuid() {
		return "connection from uid " + strconv.Itoa(creds.UID) + " refused: only this app's user may call"
	}
	return ""
}

func (p *Proxy) refuse(w http.ResponseWriter, r *http.Request, code int, reason string) bool {
	p.logger().Warn("httpipc proxy: refused", "status", code, "reason", reason,
		"method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintln(w, "httpipc proxy: "+reason)
	return false
}

// ownHost reports whether host names this proxy: a loopback literal or
// localhost, with its port (or none when that is 80).
func ownHost(host string, port int) bool {
	h, p, err := net.SplitHostPort(host)
	if err != nil {
		h, p = strings.Trim(host, "[]"), "80"
	}
	if p != strconv.Itoa(port) {
		return false
	}
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// ownOrigin reports whether a browser origin is the proxy's own.
func ownOrigin(origin string, port int) bool {
	host, ok := strings.CutPrefix(origin, "http://")
	return ok && ownHost(host, port)
}

func hasToken(values []string, token string) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
