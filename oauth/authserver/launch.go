package authserver

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/ory/fosite"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/oauth"
	"github.com/httpipc/httpipc/peercred"
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
	// Only the id's hash is stored: the database never holds a usable link.
	_, err = s.store.db.ExecContext(ctx, `INSERT INTO launches (id, client_id, subject, scopes, uid, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		launchKey(id), clientID, subject, string(sc), uid, s.opt.Now().Add(LaunchTTL).Unix())
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
		s.opt.Logger.Info("authserver: launch fetch refused", "error", e, "description", desc)
		writeLaunchError(w, code, e, desc)
	}
	peer := httpipc.Peer(r)
	if peer != nil && throughProxy(r) {
		s.opt.Logger.Warn("authserver: launch fetch through a proxy refused", append(logErr(errProxied), "peer_uid", peer.UID)...)
		writeLaunchError(w, http.StatusBadRequest, "invalid_request", errProxied.HintField)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	key := launchKey(r.PathValue("id"))
	clientID := r.PostFormValue("client_id")
	var peerUID sql.NullInt64
	if peer != nil && peer.UID >= 0 {
		peerUID = sql.NullInt64{Int64: int64(peer.UID), Valid: true}
	}
	var subject, scopesJSON string
	var uid sql.NullInt64
	// Check the client, the user and the expiry in the statement that marks
	// the link used: a second fetch, even a concurrent one, finds nothing,
	// and a fetch by the wrong client or user leaves the link to the right
	// one.
	err := s.store.db.QueryRowContext(ctx, `UPDATE launches SET used = 1
		WHERE id = ? AND used = 0 AND client_id = ? AND (uid IS NULL OR uid = ?) AND expires_at >= ?
		RETURNING subject, scopes, uid`, key, clientID, peerUID, s.opt.Now().Unix()).Scan(&subject, &scopesJSON, &uid)
	if errors.Is(err, sql.ErrNoRows) {
		fail(http.StatusBadRequest, "invalid_grant", s.launchRefusal(ctx, key, clientID, peer))
		return
	}
	if err != nil {
		s.opt.Logger.Error("authserver: launch lookup failed", "err", oneLine(err.Error()))
		writeLaunchError(w, http.StatusInternalServerError, "server_error", "launch lookup failed")
		return
	}
	var scopes []string
	json.Unmarshal([]byte(scopesJSON), &scopes)
	client, err := s.fosite.GetClient(ctx, clientID)
	if err != nil {
		fail(http.StatusBadRequest, "invalid_client", "the launch's client is gone")
		return
	}
	sess := newSession(subject)
	if uid.Valid {
		u := int(uid.Int64)
		sess.UID = &u
	}
	// fosite checks the token's expiry against the system clock.
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
		err = s.fosite.CreateAccessTokenSession(ctx, sig, req)
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

// writeLaunchError answers a launch fetch with an RFC 6749 error.
func writeLaunchError(w http.ResponseWriter, code int, e, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": e, "error_description": desc})
}

// launchKey is how a launch id is stored and looked up: its SHA-256.
func launchKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// launchRefusal says why a launch fetch found nothing to take, without
// changing the link.
func (s *Server) launchRefusal(ctx context.Context, key, clientID string, peer *peercred.Creds) string {
	var owner string
	var uid sql.NullInt64
	var expires int64
	var used bool
	err := s.store.db.QueryRowContext(ctx, `SELECT client_id, uid, expires_at, used FROM launches WHERE id = ?`, key).Scan(&owner, &uid, &expires, &used)
	switch {
	case err != nil || used:
		return "unknown or already used launch"
	case s.opt.Now().Unix() > expires:
		return "the launch has expired"
	case owner != clientID:
		return "the launch is for another client_id"
	case uid.Valid && peer == nil:
		return fmt.Sprintf("the launch is for uid %d over IPC", uid.Int64)
	case uid.Valid:
		return fmt.Sprintf("the launch is for uid %d over IPC, not uid %d", uid.Int64, peer.UID)
	}
	return "unknown or already used launch"
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
