package lms

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// VerbVoided is the xAPI verb that voids the statement its object refers to.
const VerbVoided = "http://adlnet.gov/expapi/verbs/voided"

// storedLayout is how the LRS writes stored and timestamp: UTC, with
// milliseconds, so that the strings sort as the times do.
const storedLayout = "2006-01-02T15:04:05.000Z"

// errConflict: a statement with this id exists with other content.
var errConflict = errors.New("a different statement with this id exists")

// statements serves the xAPI Statement Resource.
func (d *DB) statements(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Experience-API-Version", XAPIVersion)
	if v := r.Header.Get("X-Experience-API-Version"); !strings.HasPrefix(v, "1.0") {
		http.Error(w, "X-Experience-API-Version 1.0.x is required", http.StatusBadRequest)
		return
	}
	switch r.Method {
	case http.MethodGet:
		d.getStatements(w, r)
	case http.MethodPost:
		d.postStatements(w, r)
	case http.MethodPut:
		id := r.URL.Query().Get("statementId")
		if !validUUID(id) {
			http.Error(w, "PUT needs a statementId that is a UUID", http.StatusBadRequest)
			return
		}
		stmts, err := readStatements(r)
		if err != nil || len(stmts) != 1 {
			http.Error(w, fmt.Sprintf("PUT takes one statement: %v", err), http.StatusBadRequest)
			return
		}
		if got, _ := stmts[0]["id"].(string); got != "" && !strings.EqualFold(got, id) {
			http.Error(w, "the statement's id differs from statementId", http.StatusBadRequest)
			return
		}
		stmts[0]["id"] = strings.ToLower(id)
		if _, err := d.storeStatements(r, stmts); err != nil {
			statementError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, POST, PUT")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func statementError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, errConflict):
		http.Error(w, err.Error(), http.StatusConflict)
	case errors.Is(err, errBadStatement):
		http.Error(w, err.Error(), http.StatusBadRequest)
	default:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

var errBadStatement = errors.New("bad statement")

func readStatements(r *http.Request) ([]map[string]any, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil {
		return nil, err
	}
	if len(b) > 1<<20 {
		return nil, fmt.Errorf("%w: body over 1 MiB", errBadStatement)
	}
	b = bytes.TrimSpace(b)
	var list []map[string]any
	if len(b) > 0 && b[0] == '[' {
		err = json.Unmarshal(b, &list)
	} else {
		var one map[string]any
		err = json.Unmarshal(b, &one)
		list = []map[string]any{one}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadStatement, err)
	}
	for _, s := range list {
		if s == nil || s["actor"] == nil || s["verb"] == nil || s["object"] == nil {
			return nil, fmt.Errorf("%w: a statement needs actor, verb and object", errBadStatement)
		}
	}
	return list, nil
}

func (d *DB) postStatements(w http.ResponseWriter, r *http.Request) {
	stmts, err := readStatements(r)
	if err != nil {
		statementError(w, err)
		return
	}
	ids, err := d.storeStatements(r, stmts)
	if err != nil {
		statementError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ids)
}

// storeStatements stores statements in one transaction with their outbox
// rows. A statement whose id exists with the same content is accepted
// again without a second copy (so retries are safe).
func (d *DB) storeStatements(r *http.Request, stmts []map[string]any) ([]string, error) {
	tx, err := d.db.BeginTx(r.Context(), nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	now := time.Now().UTC().Format(storedLayout)
	ids := make([]string, 0, len(stmts))
	for _, s := range stmts {
		id, _ := s["id"].(string)
		if id == "" {
			id = newUUID()
		} else if !validUUID(id) {
			return nil, fmt.Errorf("%w: id %q is not a UUID", errBadStatement, id)
		}
		id = strings.ToLower(id)
		s["id"] = id
		if _, ok := s["timestamp"]; !ok {
			s["timestamp"] = now
		}
		if _, ok := s["stored"]; !ok {
			s["stored"] = now
		}
		if _, ok := s["version"]; !ok {
			s["version"] = XAPIVersion
		}
		body, _ := json.Marshal(s)
		var old string
		err := tx.QueryRow(`SELECT body FROM statements WHERE id = ?`, id).Scan(&old)
		switch {
		case err == nil:
			if !sameStatement(old, s) {
				return nil, fmt.Errorf("%w: %s", errConflict, id)
			}
			ids = append(ids, id)
			continue
		case !errors.Is(err, sql.ErrNoRows):
			return nil, err
		}
		if _, err := tx.Exec(`INSERT INTO statements (id, stored, body) VALUES (?, ?, ?)`, id, s["stored"], string(body)); err != nil {
			return nil, err
		}
		if verb, _ := s["verb"].(map[string]any); verb != nil && verb["id"] == VerbVoided {
			if obj, _ := s["object"].(map[string]any); obj != nil && obj["objectType"] == "StatementRef" {
				target, _ := obj["id"].(string)
				tx.Exec(`UPDATE statements SET voided = 1 WHERE id = ? AND body NOT LIKE '%' || ? || '%'`, strings.ToLower(target), VerbVoided)
			}
		}
		if d.outbox {
			if _, err := tx.Exec(`INSERT INTO outbox (kind, key, body) VALUES ('statement', ?, ?)`, id, string(body)); err != nil {
				return nil, err
			}
		}
		ids = append(ids, id)
	}
	return ids, tx.Commit()
}

// sameStatement compares statements without the properties the LRS sets.
func sameStatement(old string, s map[string]any) bool {
	var o map[string]any
	if json.Unmarshal([]byte(old), &o) != nil {
		return false
	}
	strip := func(m map[string]any) string {
		c := map[string]any{}
		for k, v := range m {
			switch k {
			case "stored", "timestamp", "version", "authority":
			default:
				c[k] = v
			}
		}
		b, _ := json.Marshal(c)
		return string(b)
	}
	return strip(o) == strip(s)
}

func (d *DB) getStatements(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if id := q.Get("statementId"); id != "" {
		d.oneStatement(w, id, false)
		return
	}
	if id := q.Get("voidedStatementId"); id != "" {
		d.oneStatement(w, id, true)
		return
	}
	limit := 100
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			http.Error(w, "limit must be a non-negative integer", http.StatusBadRequest)
			return
		}
		if n > 0 && n < limit {
			limit = n
		}
	}
	since := q.Get("since")
	if since != "" {
		t, err := time.Parse(time.RFC3339Nano, since)
		if err != nil {
			http.Error(w, "since must be an ISO 8601 timestamp", http.StatusBadRequest)
			return
		}
		// Stored times are UTC in storedLayout: compare like with like.
		since = t.UTC().Format(storedLayout)
	}
	after, _ := strconv.ParseInt(q.Get("after"), 10, 64) // the more link's cursor
	rows, err := d.db.QueryContext(r.Context(), `SELECT seq, body FROM statements
		WHERE voided = 0 AND seq > ? AND (? = '' OR stored > ?) ORDER BY seq LIMIT ?`, after, since, since, limit+1)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer rows.Close()
	out := []json.RawMessage{}
	var last int64
	more := false
	for rows.Next() {
		var seq int64
		var body string
		if err := rows.Scan(&seq, &body); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if len(out) == limit {
			more = true
			break
		}
		out = append(out, json.RawMessage(body))
		last = seq
	}
	res := map[string]any{"statements": out, "more": ""}
	if more {
		v := url.Values{"after": {strconv.FormatInt(last, 10)}, "limit": {strconv.Itoa(limit)}}
		if since != "" {
			v.Set("since", since)
		}
		res["more"] = StatementsPath + "?" + v.Encode()
	}
	w.Header().Set("X-Experience-API-Consistent-Through", time.Now().UTC().Format(time.RFC3339Nano))
	writeJSON(w, http.StatusOK, res)
}

func (d *DB) oneStatement(w http.ResponseWriter, id string, voided bool) {
	var body string
	var isVoided bool
	err := d.db.QueryRow(`SELECT body, voided FROM statements WHERE id = ?`, strings.ToLower(id)).Scan(&body, &isVoided)
	if errors.Is(err, sql.ErrNoRows) || err == nil && isVoided != voided {
		http.Error(w, "no such statement", http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, body)
}

func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// NewStatementID returns a fresh statement id (a version 4 UUID).
func NewStatementID() string { return newUUID() }

func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}
