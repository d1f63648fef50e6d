// Package bearer checks OAuth 2.0 bearer tokens (RFC 6750) in front of a
// provider's handlers and gives them the token's subject and scopes.
//
// Over IPC it passes the caller's OS identity to the Verifier, which
// refuses a token bound to another user id: a token leaked to another app
// is useless offline.
package bearer

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/peercred"
)

// Token is what a valid access token stands for.
type Token struct {
	Subject  string
	ClientID string
	Scopes   []string
	Expiry   time.Time
}

// HasScope reports whether the token grants scope.
func (t *Token) HasScope(scope string) bool { return slices.Contains(t.Scopes, scope) }

// ErrInvalidToken is wrapped by a Verifier's error for a token that is
// unknown, expired, revoked, or presented by the wrong OS user.
var ErrInvalidToken = errors.New("bearer: invalid token")

// Verifier checks an access token. peer is the caller's OS identity over
// IPC, nil over the network. authserver.Server is one.
type Verifier interface {
	Verify(ctx context.Context, token string, peer *peercred.Creds) (*Token, error)
}

type ctxKey struct{}

// FromContext returns the token Require admitted.
func FromContext(ctx context.Context) (*Token, bool) {
	t, ok := ctx.Value(ctxKey{}).(*Token)
	return t, ok
}

// Require returns middleware that admits requests with a valid bearer
// token granting every one of scopes, and answers others as RFC 6750 says:
// 401 with WWW-Authenticate for a missing or invalid token, 403 for
// insufficient scope.
func Require(v Verifier, scopes ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, ok := token(r)
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="httpipc"`)
				http.Error(w, "bearer token required", http.StatusUnauthorized)
				return
			}
			t, err := v.Verify(r.Context(), raw, httpipc.Peer(r))
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="httpipc", error="invalid_token"`)
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			for _, s := range scopes {
				if !t.HasScope(s) {
					w.Header().Set("WWW-Authenticate", `Bearer realm="httpipc", error="insufficient_scope", scope="`+strings.Join(scopes, " ")+`"`)
					http.Error(w, "the token does not grant scope "+s, http.StatusForbidden)
					return
				}
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, t)))
		})
	}
}

func token(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}
