package lms

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Syncer keeps the device's LMS and its online server in step: it pushes
// the outbox (every write, recorded in the same transaction as the write)
// and pulls the roster. Pushes are idempotent: statements go by their id
// (xAPI PUT), results by their sourcedId (OneRoster PUT), xAPI documents
// (state, agent and activity profiles) as their current content (PUT, or
// DELETE when gone; the device's copy wins), and an outbox row
// is deleted only after the server took it; a crash in between pushes it
// again, which the server takes as the same write. So killing either side
// at any moment loses nothing and duplicates nothing.
type Syncer struct {
	DB *DB
	// Upstream is the online server's base URL.
	Upstream string
	// Client reaches it; nil means http.DefaultClient.
	Client *http.Client
	// Token, when set, is sent as a bearer token.
	Token string
	// Interval is the pause between rounds; zero means two seconds. After
	// a failure the pause grows (doubling, up to a minute) with jitter.
	Interval time.Duration
	// Logger receives what was synced; nil means slog.Default().
	Logger *slog.Logger
}

// Run syncs until ctx ends.
func (s *Syncer) Run(ctx context.Context) {
	interval := s.Interval
	if interval <= 0 {
		interval = 2 * time.Second
	}
	wait, failures := interval, 0
	for {
		if _, err := s.Once(ctx); err != nil {
			failures++
			wait = min(interval<<min(failures, 10), time.Minute)
			s.logger().Info("lms sync: upstream unreachable, will retry", "err", err, "in", wait)
		} else {
			failures, wait = 0, interval
		}
		// Jitter: between half and all of the wait, so that many devices
		// do not retry in step.
		d := wait/2 + rand.N(wait/2+1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
		}
	}
}

func (s *Syncer) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Once pulls the roster and pushes the whole outbox, returning how many
// writes it pushed.
func (s *Syncer) Once(ctx context.Context) (int, error) {
	if err := s.pull(ctx); err != nil {
		return 0, err
	}
	pushed := 0
	for {
		var seq int64
		var kind, key, body string
		err := s.DB.db.QueryRowContext(ctx, `SELECT seq, kind, key, body FROM outbox ORDER BY seq LIMIT 1`).Scan(&seq, &kind, &key, &body)
		if err != nil {
			if pushed > 0 {
				s.logger().Info("lms sync: pushed to the online server", "writes", pushed)
			}
			return pushed, nil // sql.ErrNoRows: the outbox is empty
		}
		var code int
		var method, path string
		switch kind {
		case "statement":
			method, path = http.MethodPut, StatementsPath+"?statementId="+url.QueryEscape(key)
			code, err = s.do(ctx, method, path, "application/json", nil, []byte(body))
		case "result":
			method, path = http.MethodPut, GradebookPath+"/results/"+url.PathEscape(key)
			code, err = s.do(ctx, method, path, "application/json", nil, []byte(body))
		case "document":
			method, path, code, err = s.pushDocument(ctx, key)
		default:
			return pushed, fmt.Errorf("lms sync: outbox row %d has unknown kind %q", seq, kind)
		}
		if err != nil {
			return pushed, err
		}
		switch {
		case code >= 200 && code < 300:
		case code == http.StatusConflict && kind == "statement":
			// The server holds another statement under this id; retrying
			// cannot help. Keep the local copy and say so.
			s.logger().Warn("lms sync: the online server refused a conflicting statement", "id", key)
		case code == http.StatusBadRequest && kind == "document":
			// The server refuses what the device took (another version of
			// the code); retrying cannot help.
			s.logger().Warn("lms sync: the online server refused a document", "key", key)
		default:
			return pushed, fmt.Errorf("lms sync: %s %s: status %d", method, path, code)
		}
		if _, err := s.DB.db.ExecContext(ctx, `DELETE FROM outbox WHERE seq = ?`, seq); err != nil {
			return pushed, err
		}
		pushed++
	}
}

// pushDocument pushes a document as it is now: PUT of its content, or
// DELETE when it is gone. The device's copy wins: a profile is written
// with If-Match: * when the server has one, else If-None-Match: *.
func (s *Syncer) pushDocument(ctx context.Context, key string) (method, path string, code int, err error) {
	method, path, ct, body, err := s.DB.docRequest(ctx, key)
	if err != nil {
		return method, path, 0, err
	}
	if method != http.MethodPut || strings.HasPrefix(path, StatePath+"?") {
		code, err = s.do(ctx, method, path, ct, nil, body)
		return method, path, code, err
	}
	for range 3 {
		if code, err = s.do(ctx, method, path, ct, http.Header{"If-Match": {"*"}}, body); err != nil || code != http.StatusPreconditionFailed {
			return method, path, code, err
		}
		if code, err = s.do(ctx, method, path, ct, http.Header{"If-None-Match": {"*"}}, body); err != nil || code != http.StatusPreconditionFailed {
			return method, path, code, err
		}
	}
	return method, path, code, err
}

func (s *Syncer) do(ctx context.Context, method, path, contentType string, h http.Header, body []byte) (int, error) {
	resp, err := s.send(ctx, method, path, contentType, h, body)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}

// send makes one request to the online server.
func (s *Syncer) send(ctx context.Context, method, path, contentType string, h http.Header, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.Upstream+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("X-Experience-API-Version", XAPIVersion)
	if s.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.Token)
	}
	c := s.Client
	if c == nil {
		c = http.DefaultClient
	}
	return c.Do(req)
}

// pull fetches the roster from the online server.
func (s *Syncer) pull(ctx context.Context) error {
	var r Roster
	for _, part := range []struct {
		path string
		into any
	}{
		{RosteringPath + "/users", &struct {
			V *[]User `json:"users"`
		}{&r.Users}},
		{RosteringPath + "/classes", &struct {
			V *[]Class `json:"classes"`
		}{&r.Classes}},
		{RosteringPath + "/enrollments", &struct {
			V *[]Enrollment `json:"enrollments"`
		}{&r.Enrollments}},
		{GradebookPath + "/lineItems", &struct {
			V *[]LineItem `json:"lineItems"`
		}{&r.LineItems}},
	} {
		resp, err := s.send(ctx, "GET", part.path, "", nil, nil)
		if err != nil {
			return err
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(part.into)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return fmt.Errorf("lms sync: pulling %s: %s %v", part.path, resp.Status, err)
		}
	}
	return s.DB.upsertRoster(ctx, &r)
}

// Pending reports how many writes wait in the outbox.
func (d *DB) Pending(ctx context.Context) (int, error) {
	var n int
	err := d.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox`).Scan(&n)
	return n, err
}

// Counts reports how many statements and results the database holds.
func (d *DB) Counts(ctx context.Context) (statements, results int, err error) {
	if err = d.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM statements`).Scan(&statements); err != nil {
		return
	}
	err = d.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM results`).Scan(&results)
	return
}
