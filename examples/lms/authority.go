package lms

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/httpipc/httpipc/oauth/bearer"
)

// The authority of a statement: who vouches for it. The LRS sets it from
// the credentials the statement came with (the token Options.Auth
// admitted): for a token of an app acting for a user, the spec's OAuth
// form, an anonymous Group of two Agents, the app and the user; for a
// token of a user or an app alone, that Agent.

// defaultAuthorityHome is the homePage of the authority's accounts when
// Options.AuthorityHomePage is empty.
const defaultAuthorityHome = "urn:httpipc:lms"

type authorityKey struct{}

// authorityCtx is what the statement resource needs to know of the
// credentials.
type authorityCtx struct {
	agent map[string]any // nil: no credentials (no Options.Auth)
	relay bool           // a relay's statements keep the authority they carry
}

// withAuthority computes the authority of the request's credentials for
// the statement resource.
func withAuthority(opt Options, h http.Handler) http.Handler {
	home := opt.AuthorityHomePage
	if home == "" {
		home = defaultAuthorityHome
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearer.FromContext(r.Context())
		if !ok {
			h.ServeHTTP(w, r)
			return
		}
		a := authorityCtx{agent: authorityOf(tok, home)}
		for _, c := range opt.Relays {
			a.relay = a.relay || c == tok.ClientID
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), authorityKey{}, a)))
	})
}

// authorityOf is the authority for a token.
func authorityOf(tok *bearer.Token, home string) map[string]any {
	account := func(name string) map[string]any {
		return map[string]any{"objectType": "Agent", "account": map[string]any{"homePage": home, "name": name}}
	}
	var user map[string]any
	switch {
	case tok.Subject == "":
	case json.Unmarshal([]byte(tok.Subject), &user) == nil && user != nil:
		// A cmi5 session's subject is its actor, as JSON.
		if _, err := agentKey(user, "subject", false); err != nil {
			user = account(tok.Subject)
		}
	default:
		user = account(tok.Subject)
	}
	switch {
	case tok.ClientID == "" || tok.ClientID == tok.Subject:
		return user
	case user == nil:
		return account(tok.ClientID)
	}
	return map[string]any{"objectType": "Group", "member": []any{account(tok.ClientID), user}}
}

// setAuthority gives each statement the authority of the request's
// credentials; a relay's statement keeps the authority it has.
func setAuthority(ctx context.Context, stmts []map[string]any) {
	a, ok := ctx.Value(authorityKey{}).(authorityCtx)
	if !ok || a.agent == nil {
		return
	}
	for _, s := range stmts {
		if _, has := s["authority"]; has && a.relay {
			continue
		}
		s["authority"] = a.agent
	}
}
