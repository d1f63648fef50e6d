// Package authclient is the client app's side of httpipc's offline OAuth
// flow, on golang.org/x/oauth2: it builds the authorization URL with PKCE
// (S256) and state, takes the redirect (from a loopback listener on the
// desktop, or as a string from a mobile host app), trusts the ipc-service
// it carries only as the answer to its own request, only when it is the
// one of the authorization server the login started with (and iss, RFC
// 9207, names that server), and only for a registered provider, redeems the code over IPC when offline and over the
// network otherwise, and returns an *http.Client that reaches the API and
// refreshes its token by whichever path applies. The code that uses that
// client is the same online and offline.
package authclient

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"golang.org/x/oauth2"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/address"
	"github.com/httpipc/httpipc/oauth"
	"github.com/httpipc/httpipc/servicedir"
)

// Config is a native client's registration and how it reaches providers.
type Config struct {
	// OAuth2 holds the client id, the endpoints (as known online), the
	// redirect URL and the scopes. There is no client secret.
	OAuth2 oauth2.Config
	// Directory resolves the service name an ipc-service parameter carries;
	// only names registered there are accepted. The zero value uses the
	// process environment.
	Directory servicedir.Directory
	// Services lists further ipc-service addresses the app trusts besides
	// the directory's names, such as one its user configured.
	Services []string
	// IPCService is the ipc-service address of the authorization server
	// this configuration logs in to, as its metadata names it
	// (oauth.Metadata.IPCService). A redirect or launch link that names
	// another service is refused with ErrIPCService, even a registered one:
	// the code and PKCE verifier go only to the server the login started
	// with (the mix-up defence RFC 9207 gives iss). Empty means: learn it
	// from the metadata at the base of OAuth2.Endpoint.AuthURL
	// (docs/OAUTH.md, section 2) when a redirect carries an ipc-service.
	IPCService string
	// Issuer is the authorization server's issuer identifier (RFC 8414).
	// A redirect that carries iss (RFC 9207) must carry this one, else it
	// fails with ErrIssuer. Empty means: the issuer the metadata names,
	// when it is read.
	Issuer string
	// Provider checks the OS identity of the process serving an
	// ipc-service. Nil means the uid of the service's directory entry, or
	// else the same user or root (as httpipc.Transport does).
	Provider httpipc.Policy
	// HTTPClient is used on the network. Nil means http.DefaultClient.
	HTTPClient *http.Client
}

// Errors a login can end with; test them with errors.Is.
var (
	// ErrState: the redirect does not answer the pending request.
	ErrState = errors.New("authclient: the redirect's state does not match this login")
	// ErrIPCService: the redirect names an ipc-service that is not the
	// one of the authorization server this login is bound to, or not a
	// registered service.
	ErrIPCService = errors.New("authclient: untrusted ipc-service")
	// ErrIssuer: the redirect's iss (RFC 9207) names another
	// authorization server than this login's, or lacks iss where the
	// server's metadata says it sends it.
	ErrIssuer = errors.New("authclient: the redirect comes from another authorization server")
)

// Error is an error response of the authorization server (RFC 6749,
// section 4.1.2.1), such as access_denied.
type Error struct {
	Code, Description string
}

// Error returns the code and description.
func (e *Error) Error() string {
	if e.Description == "" {
		return "authclient: " + e.Code
	}
	return "authclient: " + e.Code + ": " + e.Description
}

// UseMetadata takes the issuer, the ipc-service and, where the
// configuration names none, the endpoints from the authorization server's
// metadata (oauth.FetchMetadata), binding logins to that server.
func (c *Config) UseMetadata(m *oauth.Metadata) {
	c.Issuer = m.Issuer
	c.IPCService = m.IPCService
	if c.OAuth2.Endpoint.AuthURL == "" {
		c.OAuth2.Endpoint.AuthURL = m.AuthorizationEndpoint
	}
	if c.OAuth2.Endpoint.TokenURL == "" {
		c.OAuth2.Endpoint.TokenURL = m.TokenEndpoint
	}
}

// binding is the authorization server a login or launch answers to.
type binding struct {
	issuer, ipcService string
	issInResponse      bool // the metadata says responses carry iss
	known              bool // learned from metadata, or configured
}

// bind returns the configured binding, or the one learned from the
// metadata at the authorization endpoint's base when need is set and the
// configuration lacks the ipc-service.
func (c *Config) bind(ctx context.Context, need bool) (binding, error) {
	b := binding{issuer: c.Issuer, ipcService: c.IPCService}
	if c.IPCService != "" || !need {
		b.known = c.IPCService != ""
		return b, nil
	}
	base, ok := strings.CutSuffix(c.OAuth2.Endpoint.AuthURL, oauth.AuthorizePath)
	if !ok {
		return b, fmt.Errorf("authorization endpoint %q is not at %s of a base URL, so its metadata cannot be found; set Config.IPCService", c.OAuth2.Endpoint.AuthURL, oauth.AuthorizePath)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	m, err := oauth.MetadataAt(ctx, hc, base)
	if err != nil {
		return b, fmt.Errorf("%v; set Config.IPCService", err)
	}
	if c.Issuer != "" && m.Issuer != c.Issuer {
		return b, fmt.Errorf("%w: the metadata at %s names issuer %q, not %q", ErrIssuer, base, m.Issuer, c.Issuer)
	}
	return binding{issuer: m.Issuer, ipcService: m.IPCService, issInResponse: m.AuthorizationResponseIssParameterSupported, known: true}, nil
}

// Login is one authorization request waiting for its redirect.
type Login struct {
	cfg      *Config
	oauth    oauth2.Config
	state    string
	verifier string
	// URL is the authorization URL to open in the browser or the
	// authorization app.
	URL string
}

// Start begins a login: a fresh state and PKCE verifier, and the URL to
// open. redirectURL, when not empty, replaces Config.OAuth2.RedirectURL
// (a loopback listener's address).
func (c *Config) Start(redirectURL string) *Login {
	o := c.OAuth2
	if redirectURL != "" {
		o.RedirectURL = redirectURL
	}
	l := &Login{cfg: c, oauth: o, state: oauth2.GenerateVerifier(), verifier: oauth2.GenerateVerifier()}
	l.URL = o.AuthCodeURL(l.state, oauth2.S256ChallengeOption(l.verifier))
	return l
}

// Session is a finished login: the token, refreshed as it expires, and
// the path to the provider (IPC or the network).
//
// Refresh tokens rotate: each refresh spends the refresh token it uses and
// the server answers a second use of it as a stolen token (reuse detection,
// which revokes the whole grant). An app that keeps its login across
// restarts therefore saves Token after the session refreshed, not only the
// token of the login, and calls Config.Resume with it and IPCService.
type Session struct {
	// IPCService is the provider's ipc-service, or "" when the login went
	// over the network.
	IPCService string
	base       *http.Client
	src        *tokenSource
}

// Token returns a copy of the session's current token: the one the login
// was granted, or the one of its latest refresh. It does not refresh.
func (s *Session) Token() *oauth2.Token {
	s.src.mu.Lock()
	defer s.src.mu.Unlock()
	t := *s.src.tok
	return &t
}

// TokenSource returns the session's token source: it returns the current
// token while it is valid and refreshes it (over IPC when the login was
// offline) when it expires, after which Token returns the new one.
func (s *Session) TokenSource() oauth2.TokenSource { return s.src }

// Client returns an HTTP client that sends the token with each request,
// refreshes it when it expires, and reaches the provider over IPC when the
// login was offline.
func (s *Session) Client(ctx context.Context) *http.Client {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.base)
	return oauth2.NewClient(ctx, s.src)
}

// tokenSource wraps the source that refreshes, keeping the token it last
// returned for Session.Token.
type tokenSource struct {
	src oauth2.TokenSource
	mu  sync.Mutex
	tok *oauth2.Token
}

// Token implements oauth2.TokenSource.
func (t *tokenSource) Token() (*oauth2.Token, error) {
	tok, err := t.src.Token()
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.tok = tok
	t.mu.Unlock()
	return tok, nil
}

// newSession is a session for tok that refreshes with o through base (not
// through the client of the context of a request).
func newSession(o *oauth2.Config, tok *oauth2.Token, svc string, base *http.Client) *Session {
	var src oauth2.TokenSource
	if o == nil {
		src = oauth2.StaticTokenSource(tok)
	} else {
		src = o.TokenSource(context.WithValue(context.Background(), oauth2.HTTPClient, base), tok)
	}
	return &Session{IPCService: svc, base: base, src: &tokenSource{src: src, tok: tok}}
}

// Resume rebuilds a session after the app restarted, from the token and
// the ipc-service it saved (Session.Token after the latest refresh, and
// Session.IPCService). An ipc-service is trusted as in Finish: it must be
// the one of the authorization server this configuration logs in to
// (Config.IPCService, or its metadata) and a registered service, and the
// process that answers it must pass Config.Provider before any token is
// sent to it. An empty ipc-service resumes a session over the network.
//
// The session refreshes an expired token at its first use.
func (c *Config) Resume(ctx context.Context, tok *oauth2.Token, ipcService string) (*Session, error) {
	if tok == nil || (tok.AccessToken == "" && tok.RefreshToken == "") {
		return nil, errors.New("authclient: resume: no token")
	}
	if ipcService != "" {
		b, err := c.bind(ctx, true)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: the authorization server is not known: %v", ErrIPCService, ipcService, err)
		}
		if err := b.checkService(ipcService); err != nil {
			return nil, err
		}
	}
	base, svc, err := c.pathFor(ipcService)
	if err != nil {
		return nil, err
	}
	t := *tok
	o := c.OAuth2
	return newSession(&o, &t, svc, base), nil
}

// Finish takes the redirect URI the authorization app opened, checks its
// state, and redeems the code: over IPC when it carries a trusted
// ipc-service, over the network otherwise.
func (l *Login) Finish(ctx context.Context, redirect string) (*Session, error) {
	// The redirect carries the code: no error quotes it.
	u, err := url.Parse(redirect)
	if err != nil {
		return nil, errors.New("authclient: the redirect is not a URI")
	}
	q := u.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(l.state)) != 1 {
		return nil, ErrState
	}
	svc, iss := q.Get(oauth.ParamIPCService), q.Get(oauth.ParamIssuer)
	if e := q.Get("error"); e != "" {
		if err := l.cfg.checkIssuer(ctx, iss); err != nil {
			return nil, err
		}
		return nil, &Error{Code: e, Description: q.Get("error_description")}
	}
	code := q.Get("code")
	if code == "" {
		return nil, errors.New("authclient: the redirect carries no code")
	}
	b, err := l.cfg.bind(ctx, svc != "" || iss != "")
	if err != nil && svc != "" {
		return nil, fmt.Errorf("%w: %q: this login's authorization server is not known: %v", ErrIPCService, svc, err)
	}
	if err := b.check(svc, iss, q.Has(oauth.ParamIssuer)); err != nil {
		return nil, err
	}
	base, svc, err := l.cfg.pathFor(svc)
	if err != nil {
		return nil, err
	}
	xctx := context.WithValue(ctx, oauth2.HTTPClient, base)
	tok, err := l.oauth.Exchange(xctx, code, oauth2.VerifierOption(l.verifier))
	if err != nil {
		return nil, fmt.Errorf("authclient: redeeming the code: %w", err)
	}
	return newSession(&l.oauth, tok, svc, base), nil
}

// checkIssuer checks the iss of an error response against the configured
// issuer; the metadata is not read for it.
func (c *Config) checkIssuer(_ context.Context, iss string) error {
	if iss != "" && c.Issuer != "" && iss != c.Issuer {
		return fmt.Errorf("%w: iss %q, want %q", ErrIssuer, iss, c.Issuer)
	}
	return nil
}

// check applies the binding to a redirect's ipc-service and iss.
func (b binding) check(svc, iss string, hasIss bool) error {
	if b.known && b.issInResponse && !hasIss {
		return fmt.Errorf("%w: the server sends iss, and this redirect has none", ErrIssuer)
	}
	if hasIss && b.issuer != "" && iss != b.issuer {
		return fmt.Errorf("%w: iss %q, want %q", ErrIssuer, iss, b.issuer)
	}
	return b.checkService(svc)
}

// checkService applies the binding to an ipc-service parameter.
func (b binding) checkService(svc string) error {
	if svc == "" {
		return nil
	}
	if !b.known || b.ipcService == "" {
		return fmt.Errorf("%w: %q: this login's authorization server names no ipc-service", ErrIPCService, svc)
	}
	if svc != b.ipcService {
		return fmt.Errorf("%w: %q is not %q, the ipc-service of this login's authorization server", ErrIPCService, svc, b.ipcService)
	}
	return nil
}

// pathFor returns the HTTP client for an ipc-service parameter: the
// network when it is empty, else IPC to a registered service, checked for
// its OS identity. A program named by the parameter is never started; a
// registered service is started as its entry says.
func (c *Config) pathFor(svc string) (*http.Client, string, error) {
	if svc == "" {
		if c.HTTPClient != nil {
			return c.HTTPClient, "", nil
		}
		return http.DefaultClient, "", nil
	}
	if !slices.Contains(c.Services, svc) {
		a, err := address.Parse(svc)
		if err != nil || a.Kind != address.Name {
			return nil, "", fmt.Errorf("%w: %q is not a service name", ErrIPCService, svc)
		}
		if _, err := c.Directory.Lookup(svc); err != nil {
			return nil, "", fmt.Errorf("%w: %q is not a registered service: %v", ErrIPCService, svc, err)
		}
	}
	tr := &httpipc.Transport{Service: svc, Directory: c.Directory, Provider: c.Provider}
	return &http.Client{Transport: tr}, svc, nil
}
