package lms

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/httpipc/httpipc/oauth/bearer"
)

// Syncer keeps the device's LMS and its online server in step: it pushes
// the outbox (every write, recorded in the same transaction as the write)
// and pulls the roster. Pushes are idempotent: statements go by their id
// (xAPI PUT), results by their sourcedId (OneRoster PUT), xAPI documents
// (state, agent and activity profiles) as their current content (PUT, or
// DELETE when gone; the device's copy wins), and an outbox row
// is deleted only after the server took it; a crash in between pushes it
// again. Each push carries the row's write id (WriteIDHeader), which the
// online server records in the same transaction as the write, so it
// recognizes the second delivery and does not apply it again. So killing
// either side at any moment loses nothing and duplicates nothing.
type Syncer struct {
	DB *DB
	// Upstream is the online server's base URL.
	Upstream string
	// Client reaches it; nil means http.DefaultClient.
	Client *http.Client
	// Token, when set, is sent as a bearer token.
	Token string
	// Interval is the pause between rounds; zero means two seconds. After
	// a failure the pause grows (doubling, up to MaxBackoff) with jitter.
	Interval time.Duration
	// MaxBackoff is the longest pause after failures; zero means a minute.
	MaxBackoff time.Duration
	// Logger receives what was synced; nil means slog.Default().
	Logger *slog.Logger
}

// Run syncs until ctx ends.
func (s *Syncer) Run(ctx context.Context) {
	interval := s.Interval
	if interval <= 0 {
		interval = 2 * time.Second
	}
	maxBackoff := s.MaxBackoff
	if maxBackoff <= 0 {
		maxBackoff = time.Minute
	}
	wait, failures := interval, 0
	for {
		if _, err := s.Once(ctx); err != nil {
			failures++
			wait = max(min(interval<<min(failures, 10), maxBackoff), interval)
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
	device, err := s.DB.deviceID(ctx)
	if err != nil {
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
		write := http.Header{WriteIDHeader: {device + "/" + strconv.FormatInt(seq, 10)}}
		switch kind {
		case "statement":
			method, path = http.MethodPut, StatementsPath+"?statementId="+url.QueryEscape(key)
			code, err = s.do(ctx, method, path, "application/json", write, []byte(body))
		case "result":
			method, path = http.MethodPut, GradebookPath+"/results/"+url.PathEscape(key)
			code, err = s.do(ctx, method, path, "application/json", write, []byte(body))
		case "document":
			method, path, code, err = s.pushDocument(ctx, key, write)
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
// with If-Match: * when the server has one, else If-None-Match: *. h
// holds the write id.
func (s *Syncer) pushDocument(ctx context.Context, key string, h http.Header) (method, path string, code int, err error) {
	method, path, ct, body, err := s.DB.docRequest(ctx, key)
	if err != nil {
		return method, path, 0, err
	}
	if method != http.MethodPut || strings.HasPrefix(path, StatePath+"?") {
		code, err = s.do(ctx, method, path, ct, h, body)
		return method, path, code, err
	}
	ifMatch, ifNoneMatch := h.Clone(), h.Clone()
	ifMatch.Set("If-Match", "*")
	ifNoneMatch.Set("If-None-Match", "*")
	for range 3 {
		if code, err = s.do(ctx, method, path, ct, ifMatch, body); err != nil || code != http.StatusPreconditionFailed {
			return method, path, code, err
		}
		if code, err = s.do(ctx, method, path, ct, ifNoneMatch, body); err != nil || code != http.StatusPreconditionFailed {
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

// Write ids. Every push carries the id of its outbox row, DEVICE/SEQ: the
// device database's own random id and the row's sequence number, which
// never repeat. The online server records in the table applied, in the
// transaction of the write itself, each write id it applied (per
// principal, the client and subject of the token that pushed it, so that
// one client cannot claim another's ids); a second delivery of a recorded
// id (a push whose answer was lost to a crash or the network) is answered
// 204 with WriteStatusHeader: applied-before and changes nothing. The
// table keeps a count of applications, which the design keeps at one, and
// of redeliveries recognized; its rows stay, since a redelivery can come
// any time later.
const (
	WriteIDHeader     = "Lms-Write-Id"
	WriteStatusHeader = "Lms-Write-Status"
)

const syncSchema = `
CREATE TABLE IF NOT EXISTS sync_device (one INTEGER PRIMARY KEY CHECK (one = 1), id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS applied (principal TEXT NOT NULL, writeId TEXT NOT NULL, applications INTEGER NOT NULL, redeliveries INTEGER NOT NULL DEFAULT 0, at TEXT NOT NULL, PRIMARY KEY (principal, writeId));
`

// deviceID is the database's id as a source of writes, made at first use.
func (d *DB) deviceID(ctx context.Context) (string, error) {
	var id string
	err := d.db.QueryRowContext(ctx, `SELECT id FROM sync_device`).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := d.db.ExecContext(ctx, `INSERT OR IGNORE INTO sync_device (one, id) VALUES (1, ?)`, newUUID()); err != nil {
			return "", err
		}
		err = d.db.QueryRowContext(ctx, `SELECT id FROM sync_device`).Scan(&id)
	}
	return id, err
}

// pushedWrite is a request that carries a write id, on the online server.
type pushedWrite struct {
	principal, id string
	recorded      bool // its application is recorded (committed)
	appliedBefore bool // another delivery of it was applied first
}

type pushedWriteKey struct{}

// errAppliedBefore rolls back a write whose id another delivery recorded
// first; applyOnce answers it as a redelivery.
var errAppliedBefore = errors.New("lms: this write was applied before")

// record counts an application of the write in tx and returns the count.
func (a *pushedWrite) record(ctx context.Context, tx *sql.Tx) (n int, err error) {
	err = tx.QueryRowContext(ctx, `INSERT INTO applied (principal, writeId, applications, at) VALUES (?, ?, 1, ?)
		ON CONFLICT (principal, writeId) DO UPDATE SET applications = applications + 1 RETURNING applications`,
		a.principal, a.id, time.Now().UTC().Format(storedLayout)).Scan(&n)
	return n, err
}

// commitWrite commits the transaction of a write; every write a push can
// reach commits through it. For a pushed write on the online server it
// first records the write id in the same transaction, so that the write
// and its record exist together or not at all; when another delivery
// recorded the id first, it rolls back and returns errAppliedBefore.
func (d *DB) commitWrite(ctx context.Context, tx *sql.Tx) error {
	a, _ := ctx.Value(pushedWriteKey{}).(*pushedWrite)
	if a == nil || a.recorded {
		return tx.Commit()
	}
	n, err := a.record(ctx, tx)
	if err != nil {
		return err
	}
	if n > 1 {
		a.appliedBefore = true
		tx.Rollback()
		return errAppliedBefore
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	a.recorded = true
	return nil
}

// applyOnce, on the online server, applies each pushed write once: a
// request whose write id is recorded already is answered as a redelivery
// without reaching h; others reach h, whose transaction records the id
// (commitWrite). A write that h answers with success without a
// transaction (a DELETE of a document that is not there) is recorded
// before the answer goes out.
func (d *DB) applyOnce(h http.Handler) http.Handler {
	if d.outbox {
		return h // the device's LMS is not pushed to
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(WriteIDHeader)
		if id == "" || r.Method == http.MethodGet || r.Method == http.MethodHead {
			h.ServeHTTP(w, r)
			return
		}
		a := &pushedWrite{id: id}
		if t, ok := bearer.FromContext(r.Context()); ok {
			a.principal = t.ClientID + " " + t.Subject
		}
		ctx := r.Context()
		if again, err := d.redelivered(ctx, a); err != nil || again {
			answerRedelivery(w, err)
			return
		}
		ctx = context.WithValue(ctx, pushedWriteKey{}, a)
		hw := &applyOnceWriter{ResponseWriter: w, a: a}
		h.ServeHTTP(hw, r.WithContext(ctx))
		if hw.wrote {
			return
		}
		// The answer was held back; h has returned, and its transaction
		// is over.
		if !a.appliedBefore {
			tx, err := d.db.BeginTx(ctx, nil)
			if err == nil {
				defer tx.Rollback()
				err = d.commitWrite(ctx, tx)
			}
			if err != nil && !errors.Is(err, errAppliedBefore) {
				answerRedelivery(w, err)
				return
			}
		}
		if a.appliedBefore {
			_, err := d.redelivered(ctx, a)
			answerRedelivery(w, err)
			return
		}
		w.WriteHeader(cmp.Or(hw.code, http.StatusOK))
		w.Write(hw.body.Bytes())
	})
}

// redelivered reports whether a's write id is recorded already, and if
// so counts the redelivery.
func (d *DB) redelivered(ctx context.Context, a *pushedWrite) (bool, error) {
	res, err := d.db.ExecContext(ctx, `UPDATE applied SET redeliveries = redeliveries + 1 WHERE principal = ? AND writeId = ?`, a.principal, a.id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// answerRedelivery answers a redelivered write, or err.
func answerRedelivery(w http.ResponseWriter, err error) {
	h := w.Header()
	clear(h)
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	h.Set(WriteStatusHeader, "applied-before")
	w.WriteHeader(http.StatusNoContent)
}

// applyOnceWriter passes the handler's answer on, except an answer that
// is not final yet: a success without a recorded write, or a write
// refused because another delivery of it was applied first. It holds
// those back until the handler returns.
type applyOnceWriter struct {
	http.ResponseWriter
	a     *pushedWrite
	wrote bool // the answer went on
	code  int  // the status held back
	body  bytes.Buffer
}

func (w *applyOnceWriter) WriteHeader(code int) {
	if w.wrote || w.code != 0 {
		return
	}
	if w.a.appliedBefore || code >= 200 && code < 300 && !w.a.recorded {
		w.code = code
		return
	}
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *applyOnceWriter) Write(b []byte) (int, error) {
	if !w.wrote && w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.wrote {
		return w.body.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

func (w *applyOnceWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
