// Package authserver is the authorization app of httpipc's offline OAuth
// flow: OAuth 2.0 for native apps (RFC 8252) with PKCE S256 required
// (RFC 7636), revocation (RFC 7009) and metadata (RFC 8414), answering over
// IPC and over the network alike. The grant logic is ory/fosite's; this
// package adds the consent step, SQLite storage, the ipc-service parameter
// of the authorization response, the binding of tokens to the OS user that
// redeemed them over IPC, and one-time launch links.
package authserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	foauth2 "github.com/ory/fosite/handler/oauth2"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/oauth"
	"github.com/httpipc/httpipc/oauth/bearer"
	"github.com/httpipc/httpipc/peercred"
)

// Options configure a Server. The zero value of each field is a good
// default.
type Options struct {
	// Issuer is the server's base URL as clients know it online, e.g.
	// "https://lms.example". Empty means "http://localhost".
	Issuer string
	// IPCService is the ipc-service address this server answers on, sent
	// in the authorization response and the metadata. Empty means none:
	// clients then use the network.
	IPCService string
	// Consent decides authorization requests. Nil means the web consent
	// page, where the user presses Allow or Deny.
	Consent Consent
	// Subject names the user of this device in the tokens. Empty means
	// "user".
	Subject string
	// AccessTokenLifespan defaults to one hour, refresh tokens live 30
	// days, authorization codes one minute.
	AccessTokenLifespan time.Duration
	// Logger receives decisions and errors. Nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock of the server's own deadlines: the lifetime of a
	// launch link (LaunchTTL) and of a consent page. Nil means time.Now.
	// Authorization codes and tokens are fosite's, which reads the system
	// clock itself: their expiry times are stored with each grant.
	Now func() time.Time
}

// Server is the authorization server, an http.Handler for the endpoints of
// package oauth, and a bearer.Verifier for the provider's API.
type Server struct {
	store    *Store
	fosite   fositeStore
	opt      Options
	provider fosite.OAuth2Provider
	strategy *foauth2.HMACSHAStrategy
	config   *fosite.Config
	mux      *http.ServeMux

	mu      sync.Mutex
	pending map[string]pendingConsent
}

type pendingConsent struct {
	query   string
	expires time.Time
}

// New returns a server whose clients, grants and tokens live in store.
func New(ctx context.Context, store *Store, opt Options) (*Server, error) {
	if opt.Issuer == "" {
		opt.Issuer = "http://localhost"
	}
	opt.Issuer = strings.TrimSuffix(opt.Issuer, "/")
	if opt.Subject == "" {
		opt.Subject = "user"
	}
	if opt.AccessTokenLifespan <= 0 {
		opt.AccessTokenLifespan = time.Hour
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	secret, err := store.secret(ctx)
	if err != nil {
		return nil, fmt.Errorf("authserver: signing key: %w", err)
	}
	config := &fosite.Config{
		AccessTokenLifespan:            opt.AccessTokenLifespan,
		RefreshTokenLifespan:           30 * 24 * time.Hour,
		AuthorizeCodeLifespan:          time.Minute,
		GlobalSecret:                   secret,
		EnforcePKCE:                    true,
		EnforcePKCEForPublicClients:    true,
		EnablePKCEPlainChallengeMethod: false,
		ScopeStrategy:                  fosite.ExactScopeStrategy,
		AudienceMatchingStrategy:       fosite.DefaultAudienceMatchingStrategy,
		TokenURL:                       opt.Issuer + oauth.TokenPath,
		RedirectSecureChecker:          fosite.IsRedirectURISecure,
		RefreshTokenScopes:             []string{},
	}
	strategy := compose.NewOAuth2HMACStrategy(config)
	fs := fositeStore{store}
	provider := compose.Compose(config, fs, strategy,
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OAuth2RefreshTokenGrantFactory,
		compose.OAuth2TokenRevocationFactory,
		compose.OAuth2TokenIntrospectionFactory,
		compose.OAuth2PKCEFactory,
	)
	s := &Server{store: store, fosite: fs, opt: opt, provider: provider, strategy: strategy, config: config, pending: map[string]pendingConsent{}}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET "+oauth.MetadataPath, s.metadata)
	s.mux.HandleFunc(oauth.AuthorizePath, s.authorize)
	s.mux.HandleFunc("POST "+oauth.TokenPath, s.token)
	s.mux.HandleFunc("POST "+oauth.RevokePath, s.revoke)
	s.mux.HandleFunc("POST "+oauth.LaunchPath+"{id}", s.launchFetch)
	return s, nil
}

// ServeHTTP serves the endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	m := oauth.Metadata{
		Issuer:                                     s.opt.Issuer,
		AuthorizationEndpoint:                      s.opt.Issuer + oauth.AuthorizePath,
		TokenEndpoint:                              s.opt.Issuer + oauth.TokenPath,
		RevocationEndpoint:                         s.opt.Issuer + oauth.RevokePath,
		ResponseTypesSupported:                     []string{"code"},
		GrantTypesSupported:                        []string{"authorization_code", "refresh_token"},
		CodeChallengeMethodsSupported:              []string{"S256"},
		TokenEndpointAuthMethodsSupported:          []string{"none"},
		IPCService:                                 s.opt.IPCService,
		AuthorizationResponseIssParameterSupported: true,
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(m)
}

// standard maps fosite's errors that RFC 6749 has no code for to the
// standard ones: a missing or short state is an invalid request.
func standard(err error) error {
	if errors.Is(err, fosite.ErrInvalidState) {
		return fosite.ErrInvalidRequest.WithHint("The state parameter is required and must have at least 8 characters.")
	}
	return err
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method == http.MethodPost {
		s.consentAnswer(w, r)
		return
	}
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	ar, err := s.newAuthorizeRequest(ctx, r)
	if err != nil {
		s.authorizeError(w, r, ar, err)
		return
	}
	// PKCE is enforced again when the code is issued; asking first spares
	// the user a consent that cannot succeed.
	form := ar.GetRequestForm()
	if form.Get("code_challenge") == "" || form.Get("code_challenge_method") != "S256" {
		s.authorizeError(w, r, ar, fosite.ErrInvalidRequest.WithHint("PKCE with code_challenge_method=S256 is required."))
		return
	}
	client := ar.GetClient().(*fositeClient).c
	req := ConsentRequest{ClientID: client.ID, ClientName: client.Name, Scopes: ar.GetRequestedScopes(), RedirectURI: ar.GetRedirectURI().String()}
	if s.opt.Consent == nil {
		s.consentPage(w, r, req)
		return
	}
	allow, err := s.opt.Consent(ctx, req)
	if err != nil {
		s.opt.Logger.Error("authserver: the consent could not be asked", "client", client.ID, "err", oneLine(err.Error()))
		s.provider.WriteAuthorizeError(ctx, w, ar, fosite.ErrServerError.WithWrap(err).WithHint("The consent could not be asked."))
		return
	}
	s.decide(w, r, ar, allow)
}

// newAuthorizeRequest is fosite's NewAuthorizeRequest, refusing first a
// redirect URI with user information (http://x@127.0.0.1/cb), which
// fosite's loopback matching (RFC 8252, section 7.3) would accept. The
// error is then answered with a page, never a redirect.
func (s *Server) newAuthorizeRequest(ctx context.Context, r *http.Request) (fosite.AuthorizeRequester, error) {
	if raw := r.URL.Query().Get("redirect_uri"); raw != "" {
		if u, err := url.Parse(raw); err != nil || u.User != nil || strings.Contains(u.Host, "@") {
			return fosite.NewAuthorizeRequest(), fosite.ErrInvalidRequest.WithHint("The redirect URI must not carry user information.")
		}
	}
	return s.provider.NewAuthorizeRequest(ctx, r)
}

// logErr gives an error's RFC 6749 code and description (with its hint)
// to a log line, on one line: never its stack trace, its debug text or its
// wrapped causes, which might quote what a client sent.
func logErr(err error) []any {
	e := fosite.ErrorToRFC6749Error(err)
	return []any{"error", e.ErrorField, "description", oneLine(e.GetDescription())}
}

// oneLine keeps a log value on one line, and short.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 500 {
		s = strings.ToValidUTF8(s[:500], "") + "..."
	}
	return s
}

// authorizeError logs a refused authorization request, in one line, and
// answers it (with a redirect to the client, or a page when the client or
// its redirect URI is in question).
func (s *Server) authorizeError(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, err error) {
	err = standard(err)
	s.opt.Logger.Info("authserver: authorization request refused", logErr(err)...)
	s.provider.WriteAuthorizeError(r.Context(), w, ar, err)
}

// accessError logs a refused token request, in one line, and answers it.
func (s *Server) accessError(w http.ResponseWriter, r *http.Request, ar fosite.AccessRequester, err error) {
	s.opt.Logger.Info("authserver: token request refused", logErr(err)...)
	s.provider.WriteAccessError(r.Context(), w, ar, err)
}

// throughProxy reports whether r was forwarded by a proxy (RFC 7239
// Forwarded, or the older X-Forwarded-For and Via fields): over IPC its
// peer is then the proxy's process, not the app's.
func throughProxy(r *http.Request) bool {
	for _, k := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "Via"} {
		if _, ok := r.Header[k]; ok {
			return true
		}
	}
	return false
}

// errProxied answers a request that would bind tokens to the uid of the
// proxy it came through.
var errProxied = fosite.ErrInvalidRequest.WithHint("Tokens are bound to the OS user of the app that asks over IPC; this request came through a proxy (it carries a Forwarded header), whose user is not the app's. Send it over IPC directly.")

// decide answers an authorization request the user allowed or denied.
func (s *Server) decide(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, allow bool) {
	ctx := r.Context()
	client := ar.GetClient().GetID()
	if !allow {
		s.opt.Logger.Info("authserver: denied", "client", client)
		s.provider.WriteAuthorizeError(ctx, w, ar, fosite.ErrAccessDenied.WithHint("The user denied the request."))
		return
	}
	for _, scope := range ar.GetRequestedScopes() {
		ar.GrantScope(scope)
	}
	resp, err := s.provider.NewAuthorizeResponse(ctx, ar, newSession(s.opt.Subject))
	if err != nil {
		s.authorizeError(w, r, ar, err)
		return
	}
	if s.opt.IPCService != "" {
		resp.AddParameter(oauth.ParamIPCService, s.opt.IPCService)
	}
	// RFC 9207: the client checks which server answered.
	resp.AddParameter(oauth.ParamIssuer, s.opt.Issuer)
	s.opt.Logger.Info("authserver: allowed", "client", client, "scopes", ar.GetGrantedScopes())
	s.provider.WriteAuthorizeResponse(ctx, w, ar, resp)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	// fosite answers a grant type no handler takes with invalid_request;
	// RFC 6749 (section 5.2) names it unsupported_grant_type.
	if gt := r.PostFormValue("grant_type"); gt != "" && gt != "authorization_code" && gt != "refresh_token" {
		s.accessError(w, r, nil, fosite.ErrUnsupportedGrantType.WithHintf("Grant type %.40q is not supported.", gt))
		return
	}
	peer := httpipc.Peer(r)
	if peer != nil && throughProxy(r) {
		s.opt.Logger.Warn("authserver: token request through a proxy refused", append(logErr(errProxied), "peer_uid", peer.UID)...)
		s.provider.WriteAccessError(ctx, w, nil, errProxied)
		return
	}
	ar, err := s.provider.NewAccessRequest(ctx, r, newSession(""))
	if err != nil {
		s.accessError(w, r, ar, err)
		return
	}
	sess, _ := ar.GetSession().(*session)
	client := ar.GetClient().(*fositeClient).c
	if sess == nil {
		s.accessError(w, r, ar, fosite.ErrServerError.WithHint("Unexpected session type."))
		return
	}
	switch {
	case ar.GetGrantTypes().ExactOne("authorization_code"):
		// A client registered for a uid gets tokens over IPC only there.
		if client.UID != nil && (peer == nil || peer.UID != *client.UID) {
			s.accessError(w, r, ar, fosite.ErrInvalidClient.WithHintf("Client %s may redeem codes only over IPC as uid %d.", client.ID, *client.UID))
			return
		}
		if peer != nil {
			uid := peer.UID
			sess.UID = &uid
		}
	case ar.GetGrantTypes().ExactOne("refresh_token"):
		if sess.UID != nil && (peer == nil || peer.UID != *sess.UID) {
			s.accessError(w, r, ar, fosite.ErrInvalidGrant.WithHint("The refresh token belongs to another OS user."))
			return
		}
	}
	resp, err := s.provider.NewAccessResponse(ctx, ar)
	if err != nil {
		s.accessError(w, r, ar, err)
		return
	}
	s.provider.WriteAccessResponse(ctx, w, ar, resp)
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	err := s.provider.NewRevocationRequest(ctx, r)
	if err != nil {
		s.opt.Logger.Info("authserver: revocation request refused", logErr(err)...)
	}
	s.provider.WriteRevocationResponse(ctx, w, err)
}

// Verify implements bearer.Verifier: the token must be an active access
// token, and one bound to an OS user must come from that user over IPC.
func (s *Server) Verify(ctx context.Context, token string, peer *peercred.Creds) (*bearer.Token, error) {
	_, ar, err := s.provider.IntrospectToken(ctx, token, fosite.AccessToken, newSession(""))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", bearer.ErrInvalidToken, fosite.ErrorToRFC6749Error(err).ErrorField)
	}
	sess, _ := ar.GetSession().(*session)
	if sess == nil {
		return nil, fmt.Errorf("%w: unexpected session", bearer.ErrInvalidToken)
	}
	if sess.UID != nil {
		if peer == nil {
			return nil, fmt.Errorf("%w: the token was issued over IPC to uid %d and is valid only there", bearer.ErrInvalidToken, *sess.UID)
		}
		if peer.UID != *sess.UID {
			return nil, fmt.Errorf("%w: the token was issued to uid %d, not %d", bearer.ErrInvalidToken, *sess.UID, peer.UID)
		}
	}
	return &bearer.Token{
		Subject:  sess.Subject,
		ClientID: ar.GetClient().GetID(),
		Scopes:   ar.GetGrantedScopes(),
		Expiry:   sess.GetExpiresAt(fosite.AccessToken),
	}, nil
}

func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
