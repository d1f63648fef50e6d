package authserver

import (
	"bufio"
	"context"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ory/fosite"
)

// ConsentRequest is what the user is asked to allow.
type ConsentRequest struct {
	ClientID    string
	ClientName  string
	Scopes      []string
	RedirectURI string
}

// Consent decides an authorization request instead of the web page.
type Consent func(ctx context.Context, req ConsentRequest) (allow bool, err error)

// AllowAll allows every request without asking: for tests only.
func AllowAll() Consent {
	return func(context.Context, ConsentRequest) (bool, error) { return true, nil }
}

// Prompt asks on a terminal: it writes the request to out and reads the
// answer, a line starting with y or n, from in; requests are asked one at a
// time.
func Prompt(in io.Reader, out io.Writer) Consent {
	var mu sync.Mutex
	br := bufio.NewReader(in)
	return func(ctx context.Context, req ConsentRequest) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, "\n%q (client %s) asks for: %s\nIt will be sent back to %s\nAllow? [y/N] ",
			req.ClientName, req.ClientID, scopeList(req.Scopes), req.RedirectURI)
		line, err := br.ReadString('\n')
		if err != nil && line == "" {
			return false, fmt.Errorf("reading the answer: %w", err)
		}
		return strings.HasPrefix(strings.ToLower(strings.TrimSpace(line)), "y"), nil
	}
}

func scopeList(scopes []string) string {
	if len(scopes) == 0 {
		return "(no scopes)"
	}
	return strings.Join(scopes, ", ")
}

var consentTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Allow {{.ClientName}}?</title>
<style>body{font:16px system-ui,sans-serif;max-width:32em;margin:2em auto;padding:0 1em}
button{font-size:1em;padding:.5em 1.5em;margin-right:1em}</style></head>
<body>
<h1>Allow <span id="client">{{.ClientName}}</span>?</h1>
<p>The app <b>{{.ClientName}}</b> ({{.ClientID}}) asks to use your account with:</p>
<ul id="scopes">{{range .Scopes}}<li>{{.}}</li>{{else}}<li>no particular scope</li>{{end}}</ul>
<form method="post" action="{{.Action}}">
<input type="hidden" name="consent" value="{{.ID}}">
<button id="allow" name="decision" value="allow">Allow</button>
<button id="deny" name="decision" value="deny">Deny</button>
</form>
</body></html>
`))

// consentPage shows the request and remembers it under a single-use id:
// the answer names only that id, so it cannot alter the request.
func (s *Server) consentPage(w http.ResponseWriter, r *http.Request, req ConsentRequest) {
	id := randomID()
	now := s.opt.Now()
	s.mu.Lock()
	for k, p := range s.pending {
		if now.After(p.expires) {
			delete(s.pending, k)
		}
	}
	if len(s.pending) >= 1000 {
		s.mu.Unlock()
		http.Error(w, "too many authorization requests waiting for consent", http.StatusServiceUnavailable)
		return
	}
	s.pending[id] = pendingConsent{query: r.URL.RawQuery, expires: now.Add(10 * time.Minute)}
	s.mu.Unlock()
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// No other page may frame it (clickjacking) or run scripts in it.
	h.Set("X-Frame-Options", "DENY")
	formAction := "'self'"
	if o := cspOrigin(req.RedirectURI); o != "" {
		formAction += " " + o
	}
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action "+formAction+"; frame-ancestors 'none'")
	consentTmpl.Execute(w, struct {
		ConsentRequest
		ID, Action string
	}{req, id, r.URL.Path})
}

// consentAnswer takes the user's Allow or Deny.
func (s *Server) consentAnswer(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	id := r.PostFormValue("consent")
	s.mu.Lock()
	p, ok := s.pending[id]
	delete(s.pending, id)
	s.mu.Unlock()
	if !ok || s.opt.Now().After(p.expires) {
		http.Error(w, "this consent page has expired or was already answered; start again from the app", http.StatusBadRequest)
		return
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		http.Error(w, "the answer must come from the consent page itself", http.StatusForbidden)
		return
	}
	decision := r.PostFormValue("decision")
	orig := r.Clone(ctx)
	orig.Method = http.MethodGet
	orig.URL = &url.URL{Path: r.URL.Path, RawQuery: p.query}
	orig.Body, orig.Form, orig.PostForm = http.NoBody, nil, nil
	ar, err := s.newAuthorizeRequest(ctx, orig)
	if err != nil {
		s.authorizeError(w, r, ar, err)
		return
	}
	switch decision {
	case "allow", "deny":
		s.decide(w, r, ar, decision == "allow")
	default:
		s.authorizeError(w, r, ar, fosite.ErrInvalidRequest.WithHint("No decision."))
	}
}

// cspOrigin returns the CSP source expression for the origin of a redirect
// URI, which the consent form's answer is redirected to: scheme://host[:port]
// for a URI with a host, scheme: for a private-use scheme
// (org.example.math:/cb). It returns "" for anything it cannot validate, so
// nothing but a checked scheme, host and port reaches the header.
func cspOrigin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || !validScheme(u.Scheme) {
		return ""
	}
	if u.Host == "" {
		// A private-use scheme names its app, not a site; http(s) without
		// a host would admit every site.
		if strings.EqualFold(u.Scheme, "http") || strings.EqualFold(u.Scheme, "https") {
			return ""
		}
		return strings.ToLower(u.Scheme) + ":"
	}
	host, port := u.Hostname(), u.Port()
	if !validHost(host) || strings.Trim(port, "0123456789") != "" || len(port) > 5 {
		return ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return strings.ToLower(u.Scheme) + "://" + host
}

// validScheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986).
func validScheme(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !('0' <= c && c <= '9') && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// validHost admits a DNS name or an IPv4 or IPv6 literal.
func validHost(h string) bool {
	if h == "" {
		return false
	}
	if ip := net.ParseIP(h); ip != nil {
		return !strings.Contains(h, "%")
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !isAlpha(c) && !('0' <= c && c <= '9') && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
