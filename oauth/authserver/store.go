package authserver

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"time"

	"github.com/ory/fosite"
	foauth2 "github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/pkce"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"
)

// Store keeps clients, grants and tokens in a SQLite file, so that they
// survive a restart of the authorization app. An application opens it,
// registers clients and hands it to New; what fosite stores, and when, is
// New's business.
type Store struct {
	db *sql.DB
}

// fositeStore is the Store as fosite's storage: the client manager and
// the code, PKCE, access, refresh and revocation storages. New gives it to
// fosite; applications never call it.
type fositeStore struct {
	*Store
}

var (
	_ fosite.ClientManager           = fositeStore{}
	_ foauth2.CoreStorage            = fositeStore{}
	_ foauth2.TokenRevocationStorage = fositeStore{}
	_ pkce.PKCERequestStorage        = fositeStore{}
)

const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS clients (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	redirect_uris TEXT NOT NULL,
	scopes TEXT NOT NULL,
	uid INTEGER,
	no_refresh INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sessions (
	kind TEXT NOT NULL,
	signature TEXT NOT NULL,
	request_id TEXT NOT NULL,
	active INTEGER NOT NULL DEFAULT 1,
	data TEXT NOT NULL,
	PRIMARY KEY (kind, signature)
);
CREATE INDEX IF NOT EXISTS sessions_by_request ON sessions (kind, request_id);
CREATE TABLE IF NOT EXISTS launches (
	id TEXT PRIMARY KEY,
	client_id TEXT NOT NULL,
	subject TEXT NOT NULL,
	scopes TEXT NOT NULL,
	uid INTEGER,
	expires_at INTEGER NOT NULL,
	used INTEGER NOT NULL DEFAULT 0
);
`

// Open opens (creating when needed) the database at path.
//
// The file holds the signing key and every grant, so it is private to its
// owner: a new file is created with mode 0600 before SQLite opens it (SQLite
// gives its -wal, -shm and -journal companions the mode of the database
// file), and an existing file, or companion, that others may read or write
// is tightened to 0600.
func Open(path string) (*Store, error) {
	if err := private(path); err != nil {
		return nil, fmt.Errorf("authserver: open %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)")
	if err != nil {
		return nil, fmt.Errorf("authserver: open %s: %w", path, err)
	}
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("authserver: database %s: %w", path, err)
	}
	// Launch links live minutes; forget the spent ones (and any kept by
	// versions that stored their ids in plain text).
	db.Exec(`DELETE FROM launches WHERE expires_at < ?`, time.Now().Unix())
	return &Store{db: db}, nil
}

// companions are the files SQLite keeps next to a database.
var companions = []string{"", "-wal", "-shm", "-journal"}

// private makes sure the database file at path exists with mode 0600 and
// that none of its companions is open to other users.
func private(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		return f.Close()
	}
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	for _, suffix := range companions {
		fi, err := os.Stat(path + suffix)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if runtime.GOOS != "windows" && fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(path+suffix, fi.Mode().Perm()&0o700); err != nil {
				return fmt.Errorf("%s is open to other users (mode %v) and cannot be made private: %w", path+suffix, fi.Mode().Perm(), err)
			}
		}
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// secret returns the key fosite signs tokens with, made once and kept, so
// that tokens stay valid across restarts.
func (s *Store) secret(ctx context.Context) ([]byte, error) {
	var key []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'hmac'`).Scan(&key)
	if err == nil && len(key) == 32 {
		return key, nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	key = make([]byte, 32)
	rand.Read(key)
	if _, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO meta (key, value) VALUES ('hmac', ?)`, key); err != nil {
		return nil, err
	}
	// Another process may have won the race: read back what is stored.
	err = s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'hmac'`).Scan(&key)
	return key, err
}

// Client is a registered public native client.
type Client struct {
	ID   string
	Name string // shown on the consent page
	// RedirectURIs are matched exactly, except that the port of a loopback
	// URI (http://127.0.0.1/path) may be any (RFC 8252, section 7.3).
	RedirectURIs []string
	// Scopes the client may ask for.
	Scopes []string
	// UID, when set, is the OS user id the client app runs as (on Android,
	// its app uid): tokens are then issued over IPC only to that uid.
	UID *int
	// NoRefresh withholds refresh tokens: the client must log in again
	// when its access token expires.
	NoRefresh bool
}

// AddClient registers a client, or replaces the one with its id.
func (s *Store) AddClient(ctx context.Context, c Client) error {
	if c.ID == "" || len(c.RedirectURIs) == 0 {
		return errors.New("authserver: a client needs an id and a redirect URI")
	}
	for _, u := range c.RedirectURIs {
		p, err := url.Parse(u)
		if err != nil || p.Scheme == "" || p.Fragment != "" {
			return fmt.Errorf("authserver: redirect URI %q is not an absolute URI without a fragment", u)
		}
		if p.User != nil {
			return fmt.Errorf("authserver: redirect URI %q carries user information (user@host), which is never allowed", u)
		}
		if p.Scheme == "http" && !fosite.IsLocalhost(p) {
			return fmt.Errorf("authserver: redirect URI %q: plain http is only for loopback addresses", u)
		}
	}
	uris, _ := json.Marshal(c.RedirectURIs)
	scopes, _ := json.Marshal(c.Scopes)
	if c.Name == "" {
		c.Name = c.ID
	}
	_, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO clients (id, name, redirect_uris, scopes, uid, no_refresh) VALUES (?, ?, ?, ?, ?, ?)`,
		c.ID, c.Name, string(uris), string(scopes), c.UID, c.NoRefresh)
	return err
}

// Clients lists the registered clients.
func (s *Store) Clients(ctx context.Context) ([]Client, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, redirect_uris, scopes, uid, no_refresh FROM clients ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

func scanClient(row interface{ Scan(...any) error }) (*Client, error) {
	var c Client
	var uris, scopes string
	var uid sql.NullInt64
	if err := row.Scan(&c.ID, &c.Name, &uris, &scopes, &uid, &c.NoRefresh); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(uris), &c.RedirectURIs); err != nil {
		return nil, fmt.Errorf("authserver: client %s: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(scopes), &c.Scopes); err != nil {
		return nil, fmt.Errorf("authserver: client %s: %w", c.ID, err)
	}
	if uid.Valid {
		u := int(uid.Int64)
		c.UID = &u
	}
	return &c, nil
}

func (s *Store) client(ctx context.Context, id string) (*Client, error) {
	c, err := scanClient(s.db.QueryRowContext(ctx, `SELECT id, name, redirect_uris, scopes, uid, no_refresh FROM clients WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fosite.ErrNotFound
	}
	return c, err
}

// fositeClient is how fosite sees a registered client: public, the code
// flow with refresh tokens, nothing else.
type fositeClient struct {
	fosite.DefaultClient
	c *Client
}

// GetClient implements fosite.ClientManager.
func (s fositeStore) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	c, err := s.client(ctx, id)
	if err != nil {
		return nil, err
	}
	grants := []string{"authorization_code", "refresh_token"}
	if c.NoRefresh {
		grants = grants[:1]
	}
	return &fositeClient{fosite.DefaultClient{
		ID:            c.ID,
		RedirectURIs:  c.RedirectURIs,
		GrantTypes:    grants,
		ResponseTypes: []string{"code"},
		Scopes:        c.Scopes,
		Public:        true,
	}, c}, nil
}

// ClientAssertionJWTValid implements fosite.ClientManager; JWT client
// assertions are not used by public clients.
func (s fositeStore) ClientAssertionJWTValid(context.Context, string) error { return nil }

// SetClientAssertionJWT implements fosite.ClientManager.
func (s fositeStore) SetClientAssertionJWT(context.Context, string, time.Time) error { return nil }

// storedRequest is a fosite.Requester as kept in the database.
type storedRequest struct {
	ID                string          `json:"id"`
	RequestedAt       time.Time       `json:"requested_at"`
	ClientID          string          `json:"client_id"`
	RequestedScope    []string        `json:"requested_scope"`
	GrantedScope      []string        `json:"granted_scope"`
	RequestedAudience []string        `json:"requested_audience"`
	GrantedAudience   []string        `json:"granted_audience"`
	Form              url.Values      `json:"form"`
	Session           json.RawMessage `json:"session"`
}

// Kinds of stored sessions.
const (
	kindCode    = "code"
	kindPKCE    = "pkce"
	kindAccess  = "access"
	kindRefresh = "refresh"
)

func (s fositeStore) create(ctx context.Context, kind, signature string, r fosite.Requester) error {
	sess, err := json.Marshal(r.GetSession())
	if err != nil {
		return err
	}
	form := r.GetRequestForm()
	// Never keep a client's code_verifier or tokens from the form.
	clean := url.Values{}
	for k, v := range form {
		switch k {
		case "code_verifier", "code", "refresh_token", "client_secret":
		default:
			clean[k] = v
		}
	}
	data, err := json.Marshal(storedRequest{
		ID: r.GetID(), RequestedAt: r.GetRequestedAt(), ClientID: r.GetClient().GetID(),
		RequestedScope: r.GetRequestedScopes(), GrantedScope: r.GetGrantedScopes(),
		RequestedAudience: r.GetRequestedAudience(), GrantedAudience: r.GetGrantedAudience(),
		Form: clean, Session: sess,
	})
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO sessions (kind, signature, request_id, data) VALUES (?, ?, ?, ?)`,
		kind, signature, r.GetID(), string(data))
	return err
}

// get loads a stored request into session; active reports whether it was
// not invalidated.
func (s fositeStore) get(ctx context.Context, kind, signature string, session fosite.Session) (fosite.Requester, bool, error) {
	var data string
	var active bool
	err := s.db.QueryRowContext(ctx, `SELECT data, active FROM sessions WHERE kind = ? AND signature = ?`, kind, signature).Scan(&data, &active)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, fosite.ErrNotFound
	}
	if err != nil {
		return nil, false, err
	}
	var sr storedRequest
	if err := json.Unmarshal([]byte(data), &sr); err != nil {
		return nil, false, fmt.Errorf("authserver: stored %s: %w", kind, err)
	}
	client, err := s.GetClient(ctx, sr.ClientID)
	if err != nil {
		return nil, false, err
	}
	if session == nil {
		session = newSession("")
	}
	if err := json.Unmarshal(sr.Session, session); err != nil {
		return nil, false, fmt.Errorf("authserver: stored %s session: %w", kind, err)
	}
	return &fosite.Request{
		ID: sr.ID, RequestedAt: sr.RequestedAt, Client: client,
		RequestedScope: sr.RequestedScope, GrantedScope: sr.GrantedScope,
		RequestedAudience: sr.RequestedAudience, GrantedAudience: sr.GrantedAudience,
		Form: sr.Form, Session: session,
	}, active, nil
}

func (s fositeStore) delete(ctx context.Context, kind, signature string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE kind = ? AND signature = ?`, kind, signature)
	return err
}

// CreateAuthorizeCodeSession implements oauth2.AuthorizeCodeStorage.
func (s fositeStore) CreateAuthorizeCodeSession(ctx context.Context, code string, r fosite.Requester) error {
	return s.create(ctx, kindCode, code, r)
}

// GetAuthorizeCodeSession implements oauth2.AuthorizeCodeStorage: a used
// code comes back with ErrInvalidatedAuthorizeCode, and fosite then revokes
// what it had granted.
func (s fositeStore) GetAuthorizeCodeSession(ctx context.Context, code string, session fosite.Session) (fosite.Requester, error) {
	r, active, err := s.get(ctx, kindCode, code, session)
	if err != nil {
		return nil, err
	}
	if !active {
		return r, fosite.ErrInvalidatedAuthorizeCode
	}
	return r, nil
}

// InvalidateAuthorizeCodeSession implements oauth2.AuthorizeCodeStorage.
func (s fositeStore) InvalidateAuthorizeCodeSession(ctx context.Context, code string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE sessions SET active = 0 WHERE kind = ? AND signature = ?`, kindCode, code)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fosite.ErrNotFound
	}
	return nil
}

// CreatePKCERequestSession implements pkce.PKCERequestStorage.
func (s fositeStore) CreatePKCERequestSession(ctx context.Context, sig string, r fosite.Requester) error {
	return s.create(ctx, kindPKCE, sig, r)
}

// GetPKCERequestSession implements pkce.PKCERequestStorage.
func (s fositeStore) GetPKCERequestSession(ctx context.Context, sig string, session fosite.Session) (fosite.Requester, error) {
	r, _, err := s.get(ctx, kindPKCE, sig, session)
	return r, err
}

// DeletePKCERequestSession implements pkce.PKCERequestStorage.
func (s fositeStore) DeletePKCERequestSession(ctx context.Context, sig string) error {
	return s.delete(ctx, kindPKCE, sig)
}

// CreateAccessTokenSession implements oauth2.AccessTokenStorage.
func (s fositeStore) CreateAccessTokenSession(ctx context.Context, sig string, r fosite.Requester) error {
	return s.create(ctx, kindAccess, sig, r)
}

// GetAccessTokenSession implements oauth2.AccessTokenStorage.
func (s fositeStore) GetAccessTokenSession(ctx context.Context, sig string, session fosite.Session) (fosite.Requester, error) {
	r, _, err := s.get(ctx, kindAccess, sig, session)
	return r, err
}

// DeleteAccessTokenSession implements oauth2.AccessTokenStorage.
func (s fositeStore) DeleteAccessTokenSession(ctx context.Context, sig string) error {
	return s.delete(ctx, kindAccess, sig)
}

// CreateRefreshTokenSession implements oauth2.RefreshTokenStorage.
func (s fositeStore) CreateRefreshTokenSession(ctx context.Context, sig, _ string, r fosite.Requester) error {
	return s.create(ctx, kindRefresh, sig, r)
}

// GetRefreshTokenSession implements oauth2.RefreshTokenStorage: a rotated
// or revoked refresh token comes back with ErrInactiveToken, and fosite
// then revokes the whole grant (reuse detection).
func (s fositeStore) GetRefreshTokenSession(ctx context.Context, sig string, session fosite.Session) (fosite.Requester, error) {
	r, active, err := s.get(ctx, kindRefresh, sig, session)
	if err != nil {
		return nil, err
	}
	if !active {
		return r, fosite.ErrInactiveToken
	}
	return r, nil
}

// DeleteRefreshTokenSession implements oauth2.RefreshTokenStorage.
func (s fositeStore) DeleteRefreshTokenSession(ctx context.Context, sig string) error {
	return s.delete(ctx, kindRefresh, sig)
}

// RotateRefreshToken implements oauth2.RefreshTokenStorage.
func (s fositeStore) RotateRefreshToken(ctx context.Context, requestID, _ string) error {
	if err := s.RevokeRefreshToken(ctx, requestID); err != nil {
		return err
	}
	return s.RevokeAccessToken(ctx, requestID)
}

// RevokeRefreshToken implements oauth2.TokenRevocationStorage.
func (s fositeStore) RevokeRefreshToken(ctx context.Context, requestID string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE sessions SET active = 0 WHERE kind = ? AND request_id = ?`, kindRefresh, requestID)
	return err
}

// RevokeAccessToken implements oauth2.TokenRevocationStorage.
func (s fositeStore) RevokeAccessToken(ctx context.Context, requestID string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE kind = ? AND request_id = ?`, kindAccess, requestID)
	return err
}
