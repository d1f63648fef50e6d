package proxy

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"os"
	pathpkg "path"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/httpipc/httpipc/internal/loopback"
	"github.com/httpipc/httpipc/peercred"
)

type connKey struct{}

// ConnContext records the connection in ctx, for the user check (see
// Proxy.AllowOtherUsers). Serve sets it; a server of the app's own that
// mounts the Proxy as a handler sets it as its http.Server.ConnContext.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, &connInfo{conn: c})
}

// connInfo is a connection and, once looked up, the verdict of the user
// check: a connection's user does not change, and looking it up (sock_diag
// for loopback TCP) costs more than forwarding a small request.
type connInfo struct {
	conn    net.Conn
	once    sync.Once
	refusal string
}

// userRefusal is checkUser's verdict for the connection, looked up once.
func (ci *connInfo) userRefusal(credConn bool) string {
	ci.once.Do(func() { ci.refusal = checkUser(ci.conn, credConn) })
	return ci.refusal
}

type corsKey struct{}

// corsInfo is what the guard decided about the request's origin.
type corsInfo struct {
	origin string // an allowed foreign origin, or ""
}

// peerKnown reports whether the user of a connection to a listener at addr
// can be looked up: loopback TCP through sock_diag on Linux (Android's
// sandbox forbids it), Unix sockets by their peer credentials.
func peerKnown(addr net.Addr) bool {
	switch addr.(type) {
	case *net.TCPAddr:
		return runtime.GOOS == "linux"
	case *net.UnixAddr:
		switch runtime.GOOS {
		case "linux", "android", "darwin", "ios":
			return true
		}
	}
	return false
}

// secretFor returns the secret that requests on a listener at addr must
// carry, or "". A connection whose peer reports its own credentials
// (peercred.Conn) counts as one whose user is known.
func (p *Proxy) secretFor(addr net.Addr, credConn bool) string {
	switch {
	case p.Secret != "":
		return p.Secret
	case p.AllowOtherUsers || p.BrowserSessions || credConn || peerKnown(addr):
		return ""
	}
	return p.auto
}

// guard applies the checks. It returns false when it has answered the
// request itself: a refusal, a CORS preflight or a launch URL.
func (p *Proxy) guard(w http.ResponseWriter, r *http.Request) (corsInfo, bool) {
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	ci, _ := r.Context().Value(connKey{}).(*connInfo)
	var conn net.Conn
	if ci != nil {
		conn = ci.conn
	}
	if conn != nil {
		local = conn.LocalAddr()
	}
	_, credConn := conn.(peercred.Conn)
	secret := p.secretFor(local, credConn)
	tcp, isTCP := local.(*net.TCPAddr)
	// Until the secret is taken off the path, its first segment may be
	// the secret: logs show it redacted.
	pending := secret

	// DNS rebinding: a page of evil.example whose name now resolves to
	// 127.0.0.1 sends Host: evil.example.
	if isTCP && !ownHost(r.Host, tcp.Port) {
		return corsInfo{}, p.refuse(w, r, pending, http.StatusMisdirectedRequest,
			fmt.Sprintf("Host %q is not this proxy's address (127.0.0.1:%d or localhost:%d)", r.Host, tcp.Port, tcp.Port))
	}

	if !p.AllowOtherUsers {
		msg := checkUser(nil, false)
		if ci != nil {
			msg = ci.userRefusal(credConn)
		}
		if msg != "" {
			return corsInfo{}, p.refuse(w, r, pending, http.StatusForbidden, msg)
		}
	}

	var info corsInfo
	origin := r.Header.Get("Origin")
	switch {
	case origin == "":
		// Browsers omit Origin on plain GETs of images, scripts and the
		// like; Sec-Fetch-Site still says where they come from.
		if site := r.Header.Get("Sec-Fetch-Site"); (site == "cross-site" || site == "same-site") && secret == "" && !p.BrowserSessions {
			return info, p.refuse(w, r, pending, http.StatusForbidden,
				"request from another site (Sec-Fetch-Site: "+site+") refused; the embedding app can pass a secret")
		}
	case isTCP && ownOrigin(origin, tcp.Port):
	case slices.Contains(p.AllowOrigins, origin):
		info.origin = origin
	default:
		return info, p.refuse(w, r, pending, http.StatusForbidden, "cross-origin request from "+origin+" refused: not an allowed origin")
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
		return info, false
	}

	if p.BrowserSessions && strings.HasPrefix(r.URL.Path, LaunchPrefix) {
		p.launch(w, r, local)
		return info, false
	}

	if secret != "" {
		if !takeSecret(r, secret) {
			return info, p.refuse(w, r, pending, http.StatusForbidden, "missing or wrong proxy secret (first path segment or "+SecretHeader+" header)")
		}
		pending = ""
	}

	if p.BrowserSessions && !p.sess.valid(r, cookieName(local)) {
		return info, p.refuse(w, r, "", http.StatusForbidden,
			"no session of this proxy: open the app's launch link in this browser (it works once)")
	}

	if upgrade := r.Header.Get("Upgrade"); upgrade != "" && hasToken(r.Header.Values("Connection"), "upgrade") {
		return info, p.refuse(w, r, "", http.StatusNotImplemented,
			"protocol upgrade to "+upgrade+" is not carried over httpipc (request and response messages only)")
	}
	return info, true
}

// takeSecret checks the secret and removes it from the path.
func takeSecret(r *http.Request, secret string) bool {
	if h := r.Header.Get(SecretHeader); h != "" {
		return subtle.ConstantTimeCompare([]byte(h), []byte(secret)) == 1
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/")
	if !ok {
		return false
	}
	seg, tail, _ := strings.Cut(rest, "/")
	if subtle.ConstantTimeCompare([]byte(seg), []byte(secret)) != 1 {
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
func checkUser(c net.Conn, credConn bool) string {
	if c == nil {
		return "the proxy cannot see the connection to check its user (set http.Server.ConnContext to proxy.ConnContext)"
	}
	var creds *peercred.Creds
	var err error
	switch _, isTCP := c.LocalAddr().(*net.TCPAddr); {
	case credConn:
		creds, err = peercred.Get(c)
	case !peerKnown(c.LocalAddr()):
		return "" // the secret guards this listener
	case isTCP:
		creds, err = loopback.Peer(c)
	default:
		creds, err = peercred.Get(c)
	}
	if err != nil {
		return "cannot tell which user is calling (" + err.Error() + "); only this app's user may call"
	}
	if creds.UID != os.Getuid() {
		return "connection from uid " + strconv.Itoa(creds.UID) + " refused: only this app's user may call"
	}
	return ""
}

// refuse answers with a one-line reason, also logged. secret, if not "", may
// still be the path's first segment, which the log then redacts.
func (p *Proxy) refuse(w http.ResponseWriter, r *http.Request, secret string, code int, reason string) bool {
	p.logger().Warn("httpipc proxy: refused", "status", code, "reason", reason,
		"method", r.Method, "url", p.logURL(r.URL, secret), "remote", r.RemoteAddr)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	fmt.Fprintln(w, "httpipc proxy: "+reason)
	return false
}

// forwards reports whether path is one that Paths lets through. With Paths
// set, only clean paths pass (no "." or ".." segments, no "//").
func (p *Proxy) forwards(path string) bool {
	if len(p.Paths) == 0 {
		return true
	}
	clean := pathpkg.Clean(path)
	if strings.HasSuffix(path, "/") && clean != "/" {
		clean += "/"
	}
	if clean != path {
		return false
	}
	for _, allowed := range p.Paths {
		if path == allowed || strings.HasSuffix(allowed, "/") && strings.HasPrefix(path, allowed) {
			return true
		}
	}
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
