package authclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/httpipc/httpipc/internal/loopback"
	"github.com/httpipc/httpipc/oauth"
	"github.com/httpipc/httpipc/peercred"
)

// LoopbackLogin runs a desktop login (RFC 8252, section 7.3): it listens on
// a free port of 127.0.0.1 at the path of Config.OAuth2.RedirectURL (or
// /callback), calls open with the authorization URL (to start a browser,
// or print it), and finishes with the first redirect that arrives, until
// ctx ends.
func (c *Config) LoopbackLogin(ctx context.Context, open func(authURL string) error) (*Session, error) {
	path := "/callback"
	if u, err := url.Parse(c.OAuth2.RedirectURL); err == nil && u.Path != "" {
		path = u.Path
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("authclient: loopback listener: %w", err)
	}
	defer ln.Close()
	l := c.Start("http://" + ln.Addr().String() + path)
	type result struct {
		s   *Session
		err error
	}
	done := make(chan result, 1)
	self := peercred.Self()
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, ConnContext: withConn, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Any process may connect to a loopback port: only this user's
		// (the browser it opened) may finish the login.
		if msg := otherUser(r, self); msg != "" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintln(w, "Forbidden:", msg)
			return
		}
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		s, err := l.Finish(r.Context(), "http://"+ln.Addr().String()+r.URL.RequestURI())
		if errors.Is(err, ErrState) {
			// Not the answer to this login (a stale tab): keep waiting.
			http.Error(w, "this is not the login this app is waiting for", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Connection", "close")
		if err != nil {
			fmt.Fprintln(w, "Login failed:", err)
		} else {
			fmt.Fprintln(w, "Logged in. You can close this window.")
		}
		// The browser gets its page before the login returns and the
		// listener closes.
		http.NewResponseController(w).Flush()
		select {
		case done <- result{s, err}:
		default:
		}
	})}
	go srv.Serve(ln)
	defer func() {
		// Let the answer to the redirect finish; then stop.
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
	}()
	if err := open(l.URL); err != nil {
		return nil, err
	}
	select {
	case r := <-done:
		return r.s, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type connKey struct{}

func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// otherUser returns why a request to the loopback listener comes from
// another OS user than self, or "" when it comes from self or this system
// cannot tell the user of a loopback peer (the lookup is Linux's).
func otherUser(r *http.Request, self *peercred.Creds) string {
	c, _ := r.Context().Value(connKey{}).(net.Conn)
	peer, err := loopback.Peer(c)
	if errors.Is(err, peercred.ErrNotSupported) {
		return ""
	}
	if err != nil {
		return "cannot tell which user is calling: " + err.Error()
	}
	if peer.UID != self.UID {
		return fmt.Sprintf("this login belongs to another user (uid %d)", self.UID)
	}
	return ""
}

// Launch takes a launch link (the cmi5 pattern) that a provider opened the
// client app with, fetches its one-time token (over IPC when the link
// carries a trusted ipc-service), and returns the session and the API
// endpoint the link names.
func (c *Config) Launch(ctx context.Context, link string) (*Session, string, error) {
	// The link's fetch URL is a one-time secret: no error quotes it.
	u, err := url.Parse(link)
	if err != nil {
		return nil, "", errors.New("authclient: the launch link is not a URI")
	}
	q := u.Query()
	fetch, endpoint := q.Get(oauth.LaunchParamFetch), q.Get(oauth.LaunchParamEndpoint)
	if fetch == "" || endpoint == "" {
		return nil, "", errors.New("authclient: launch link lacks fetch or endpoint")
	}
	if svc := q.Get(oauth.LaunchParamIPC); svc != "" {
		b, err := c.bind(ctx, true)
		if err != nil {
			return nil, "", fmt.Errorf("%w: %q: the authorization server is not known: %v", ErrIPCService, svc, err)
		}
		if err := b.checkService(svc); err != nil {
			return nil, "", err
		}
	}
	base, svc, err := c.pathFor(q.Get(oauth.LaunchParamIPC))
	if err != nil {
		return nil, "", err
	}
	form := url.Values{"client_id": {c.OAuth2.ClientID}}
	req, err := http.NewRequestWithContext(ctx, "POST", fetch, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := base.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("authclient: launch fetch: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body); err != nil {
		return nil, "", fmt.Errorf("authclient: launch fetch: %s: %w", resp.Status, err)
	}
	if resp.StatusCode != http.StatusOK || body.AccessToken == "" {
		return nil, "", &Error{Code: body.Error, Description: body.Description}
	}
	tok := &oauth2.Token{AccessToken: body.AccessToken, TokenType: body.TokenType}
	if body.ExpiresIn > 0 {
		tok.Expiry = time.Now().Add(time.Duration(body.ExpiresIn) * time.Second)
	}
	return newSession(nil, tok, svc, base), endpoint, nil
}
