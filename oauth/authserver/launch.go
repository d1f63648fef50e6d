package authserver

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/ory/fosite"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/oauth"
)

// LaunchTTL is how long a launch link's fetch URL can be used.
const LaunchTTL = 5 * time.Minute

// Launch makes a launch link (the cmi5 pattern) that opens the client app
// clientID at its redirect URI with an API endpoint, a one-time token fetch
// URL and the ipc-service. The client POSTs to the fetch URL once, within
// LaunchTTL, and gets an access token for subject with scopes. With uid
// set, only that OS user may fetch it over IPC, and the token is bound to
// it.
func (s *Server) Launch(ctx context.Context, clientID, endpoint, subject string, scopes []string, uid *int) (string, error) {
	c, err := s.store.client(ctx, clientID)
	if err != nil {
		return "", fmt.Errorf("authserver: launch: client %q: %w", clientID, err)
	}
	for _, sc := range scopes {
		if !fosite.ExactScopeStrategy(c.Scopes, sc) {
			return "", fmt.Errorf("authserver: launch: client %q may not have scope %q", clientID, sc)
		}
	}
	id := randomID()
	sc, _ := json.Marshal(scopes)
	_, err = s.store.db.ExecContext(ctx, `INSERT INTO launches (id, client_id, subject, scopes, uid, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		id, clientID, subject, string(sc), uid, time.Now().Add(LaunchTTL).Unix())
	if err != nil {
		return "", err
	}
	u, err := url.Parse(c.RedirectURIs[0])
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set(oauth.LaunchParamEndpoint, endpoint)
	q.Set(oauth.LaunchParamFetch, s.opt.Issuer+oauth.LaunchPath+id)
	if s.opt.IPCService != "" {
		q.Set(oauth.LaunchParamIPC, s.opt.IPCService)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// launchFetch hands out a launch link's token, once.
func (s *Server) launchFetch(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	fail := func(code int, e, desc string) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]string{"error": e, "error_description": desc})
	}
	id := r.PathValue("id")
	var clientID, subject, scopesJSON string
	var uid sql.NullInt64
	var expires int64
	// Mark it used in the same statement that reads it: a second fetch,
	// even a concurrent one, finds nothing.
	err := s.store.db.QueryRowContext(ctx, `UPDATE launches SET used = 1 WHERE id = ? AND used = 0
		RETURNING client_id, subject, scopes, uid, expires_at`, id).Scan(&clientID, &subject, &scopesJSON, &uid, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		fail(http.StatusBadRequest, "invalid_grant", "unknown or already used launch")
		return
	}
	if err != nil {
		fail(http.StatusInternalServerError, "server_error", "launch lookup failed")
		return
	}
	if time.Now().Unix() > expires {
		fail(http.StatusBadRequest, "invalid_grant", "the launch has expired")
		return
	}
	peer := httpipc.Peer(r)
	if uid.Valid && (peer == nil || int64(peer.UID) != uid.Int64) {
		fail(http.StatusBadRequest, "invalid_grant", fmt.Sprintf("the launch is for uid %d over IPC", uid.Int64))
		return
	}
	var scopes []string
	json.Unmarshal([]byte(scopesJSON), &scopes)
	client, err := s.store.GetClient(ctx, clientID)
	if err != nil {
		fail(http.StatusBadRequest, "invalid_client", "the launch's client is gone")
		return
	}
	sess := NewSession(subject)
	if uid.Valid {
		u := int(uid.Int64)
		sess.UID = &u
	}
	exp := time.Now().Add(s.opt.AccessTokenLifespan).Round(time.Second)
	sess.SetExpiresAt(fosite.AccessToken, exp)
	req := fosite.NewRequest()
	req.ID = randomID()
	req.Client = client
	req.Session = sess
	for _, sc := range scopes {
		req.AppendRequestedScope(sc)
		req.GrantScope(sc)
	}
	// The token is fosite's, made and checked by its HMAC strategy.
	token, sig, err := s.strategy.GenerateAccessToken(ctx, req)
	if err == nil {
		err = s.store.CreateAccessTokenSession(ctx, sig, req)
	}
	if err != nil {
		fail(http.StatusInternalServerError, "server_error", "issuing the token failed")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{
		"access_token": token,
		"token_type":   "bearer",
		"expires_in":   int(time.Until(exp).Seconds()),
		"scope":        joinScopes(scopes),
	})
}

func joinScopes(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}
