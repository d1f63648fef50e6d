package lms

import (
	"bytes"
	"context"
	"crypto/sha1"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The xAPI document resources: State, Agent Profile and Activity Profile.
// Documents live in the table documents, keyed by kind, activity, agent
// (its identifier), registration and id; every write adds an outbox row
// in the same transaction, which the Syncer pushes as the document's
// current content (or its deletion).

// docKind describes one document resource.
type docKind struct {
	name        string // stored in documents.kind and in outbox keys
	path        string
	idParam     string // stateId or profileId
	activity    bool   // takes activityId
	agent       bool   // takes agent
	concurrency bool   // PUT of an existing document needs If-Match or If-None-Match
}

var (
	docState           = docKind{name: "state", path: StatePath, idParam: "stateId", activity: true, agent: true}
	docAgentProfile    = docKind{name: "agentProfile", path: AgentProfilePath, idParam: "profileId", agent: true, concurrency: true}
	docActivityProfile = docKind{name: "activityProfile", path: ActivityProfilePath, idParam: "profileId", activity: true, concurrency: true}
	docKinds           = map[string]docKind{"state": docState, "agentProfile": docAgentProfile, "activityProfile": docActivityProfile}
)

// maxDocument is the largest document the LRS takes.
const maxDocument = 4 << 20

// docKey names a document, or with id empty, a set of them.
type docKey struct {
	Kind         string `json:"kind"`
	ActivityID   string `json:"activityId,omitempty"`
	Agent        string `json:"agent,omitempty"` // the agent parameter as given
	Registration string `json:"registration,omitempty"`
	ID           string `json:"id,omitempty"`
	agentKey     string // the agent's identifier
	since        string // for lists: storedLayout, or empty
	hasReg       bool   // registration was given
}

// parseDocKey reads the query of a document request. Without the id
// parameter the request is about a set of documents (GET: list; DELETE:
// state only).
func parseDocKey(k docKind, method string, q url.Values) (dk docKey, err error) {
	dk.Kind = k.name
	allowed := map[string]bool{k.idParam: true, "since": method == http.MethodGet && q.Get(k.idParam) == ""}
	if k.activity {
		allowed["activityId"] = true
	}
	if k.agent {
		allowed["agent"] = true
	}
	if k == docState {
		allowed["registration"] = true
	}
	for p, v := range q {
		if !allowed[p] {
			return dk, bad("%s %s takes no parameter %q", method, k.path, p)
		}
		if len(v) > 1 {
			return dk, bad("parameter %q given twice", p)
		}
	}
	if k.activity {
		if dk.ActivityID = q.Get("activityId"); !isIRI(dk.ActivityID) {
			return dk, bad("activityId is required and must be an IRI")
		}
	}
	if k.agent {
		if dk.Agent = q.Get("agent"); dk.Agent == "" {
			return dk, bad("agent is required (an Agent as JSON)")
		}
		if dk.agentKey, err = parseAgentParam(dk.Agent); err != nil {
			return dk, err
		}
	}
	if dk.hasReg = q.Has("registration"); dk.hasReg {
		if dk.Registration = strings.ToLower(q.Get("registration")); !validUUID(dk.Registration) {
			return dk, bad("registration must be a UUID")
		}
	}
	dk.ID = q.Get(k.idParam)
	if dk.ID == "" && (method == http.MethodPut || method == http.MethodPost || method == http.MethodDelete && k != docState) {
		return dk, bad("%s %s needs %s", method, k.path, k.idParam)
	}
	if dk.since, err = parseTime(q, "since"); err != nil {
		return dk, err
	}
	return dk, nil
}

// storedDoc is a document as stored.
type storedDoc struct {
	contentType, updated, etag string
	body                       []byte
}

func (d *DB) loadDoc(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, dk docKey) (*storedDoc, error) {
	var s storedDoc
	err := q.QueryRowContext(ctx, `SELECT contentType, updated, etag, body FROM documents
		WHERE kind = ? AND activityId = ? AND agent = ? AND registration = ? AND docId = ?`,
		dk.Kind, dk.ActivityID, dk.agentKey, dk.Registration, dk.ID).Scan(&s.contentType, &s.updated, &s.etag, &s.body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &s, err
}

// etagOf is the spec's ETag: the SHA-1 of the content, in hex, quoted.
func etagOf(b []byte) string {
	h := sha1.Sum(b)
	return `"` + hex.EncodeToString(h[:]) + `"`
}

// etagMatches reports whether the If-Match / If-None-Match value matches
// a document with etag (empty: no document).
func etagMatches(header, etag string) bool {
	if etag == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag || `"`+t+`"` == etag {
			return true
		}
	}
	return false
}

// preconditions applies If-Match and If-None-Match to the current
// document (nil: none), answering 412 or (for a PUT of an existing
// profile without either) 409. It reports whether to go on.
func preconditions(w http.ResponseWriter, r *http.Request, k docKind, cur *storedDoc) bool {
	etag := ""
	if cur != nil {
		etag = cur.etag
	}
	im, inm := r.Header.Get("If-Match"), r.Header.Get("If-None-Match")
	if im != "" && !etagMatches(im, etag) {
		http.Error(w, "If-Match does not match the document's current ETag", http.StatusPreconditionFailed)
		return false
	}
	if inm != "" && etagMatches(inm, etag) {
		http.Error(w, "If-None-Match: the document exists", http.StatusPreconditionFailed)
		return false
	}
	if k.concurrency && r.Method == http.MethodPut && cur != nil && im == "" && inm == "" {
		http.Error(w, "the document exists: GET it and PUT with If-Match set to its ETag (or If-None-Match: * for a new one)", http.StatusConflict)
		return false
	}
	return true
}

func isJSONType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// mergeJSON merges the JSON object posted into the JSON object old (nil:
// none) as the spec's document POST does: each top-level property of
// posted replaces old's.
func mergeJSON(old, posted []byte) ([]byte, error) {
	var p map[string]json.RawMessage
	if err := json.Unmarshal(posted, &p); err != nil || p == nil {
		return nil, bad("a POSTed document must be a JSON object")
	}
	o := map[string]json.RawMessage{}
	if old != nil {
		if err := json.Unmarshal(old, &o); err != nil || o == nil {
			return nil, bad("the stored document is not a JSON object: PUT to replace it")
		}
	}
	for k, v := range p {
		o[k] = v
	}
	return json.Marshal(o)
}

// documents serves one document resource.
func (d *DB) documents(k docKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		method := r.Method
		if method == http.MethodHead {
			method = http.MethodGet
		}
		dk, err := parseDocKey(k, method, r.URL.Query())
		if err == nil && method != http.MethodGet && method != http.MethodPut && method != http.MethodPost && method != http.MethodDelete {
			w.Header().Set("Allow", "GET, HEAD, PUT, POST, DELETE")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if err != nil {
			statementError(w, err)
			return
		}
		switch {
		case method == http.MethodGet && dk.ID == "":
			d.listDocs(w, r, dk)
		case method == http.MethodGet:
			cur, err := d.loadDoc(r.Context(), d.db, dk)
			if err != nil {
				statementError(w, err)
				return
			}
			if cur == nil {
				http.Error(w, "no such document", http.StatusNotFound)
				return
			}
			w.Header().Set("Content-Type", cur.contentType)
			w.Header().Set("ETag", cur.etag)
			if t, err := time.Parse(time.RFC3339Nano, cur.updated); err == nil {
				w.Header().Set("Last-Modified", t.UTC().Format(http.TimeFormat))
			}
			w.Write(cur.body)
		case method == http.MethodDelete && dk.ID == "":
			if err := d.deleteDocs(r.Context(), dk); err != nil {
				statementError(w, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			d.writeDoc(w, r, k, dk)
		}
	}
}

func (d *DB) listDocs(w http.ResponseWriter, r *http.Request, dk docKey) {
	rows, err := d.db.QueryContext(r.Context(), `SELECT DISTINCT docId, MAX(updated) FROM documents
		WHERE kind = ? AND activityId = ? AND agent = ? AND (? OR registration = ?) AND (? = '' OR updated > ?)
		GROUP BY docId ORDER BY docId`,
		dk.Kind, dk.ActivityID, dk.agentKey, !dk.hasReg, dk.Registration, dk.since, dk.since)
	if err != nil {
		statementError(w, err)
		return
	}
	defer rows.Close()
	ids, latest := []string{}, ""
	for rows.Next() {
		var id, updated string
		if err := rows.Scan(&id, &updated); err != nil {
			statementError(w, err)
			return
		}
		ids = append(ids, id)
		latest = max(latest, updated)
	}
	if t, err := time.Parse(time.RFC3339Nano, latest); err == nil {
		w.Header().Set("Last-Modified", t.UTC().Format(http.TimeFormat))
	}
	b, _ := json.Marshal(ids)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("ETag", etagOf(b))
	w.Write(b)
}

// outboxDoc records in tx that the document changed (or went away).
func (d *DB) outboxDoc(tx *sql.Tx, dk docKey) error {
	if !d.outbox {
		return nil
	}
	key, _ := json.Marshal(dk)
	_, err := tx.Exec(`INSERT INTO outbox (kind, key, body) VALUES ('document', ?, '')`, string(key))
	return err
}

func (d *DB) deleteDocs(ctx context.Context, dk docKey) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	rows, err := tx.Query(`SELECT registration, docId, agentJSON FROM documents
		WHERE kind = ? AND activityId = ? AND agent = ? AND (? OR registration = ?)`,
		dk.Kind, dk.ActivityID, dk.agentKey, !dk.hasReg, dk.Registration)
	if err != nil {
		return err
	}
	var gone []docKey
	for rows.Next() {
		g := dk
		if err := rows.Scan(&g.Registration, &g.ID, &g.Agent); err != nil {
			rows.Close()
			return err
		}
		gone = append(gone, g)
	}
	rows.Close()
	for _, g := range gone {
		if _, err := tx.Exec(`DELETE FROM documents WHERE kind = ? AND activityId = ? AND agent = ? AND registration = ? AND docId = ?`,
			g.Kind, g.ActivityID, g.agentKey, g.Registration, g.ID); err != nil {
			return err
		}
		if err := d.outboxDoc(tx, g); err != nil {
			return err
		}
	}
	return d.commitWrite(ctx, tx)
}

// writeDoc serves PUT (replace), POST (merge) and DELETE of one document.
func (d *DB) writeDoc(w http.ResponseWriter, r *http.Request, k docKind, dk docKey) {
	var body []byte
	ct := r.Header.Get("Content-Type")
	if r.Method != http.MethodDelete {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxDocument+1))
		if err != nil {
			statementError(w, err)
			return
		}
		if len(b) > maxDocument {
			http.Error(w, "document over 4 MiB", http.StatusRequestEntityTooLarge)
			return
		}
		body = b
		if ct == "" {
			ct = "application/octet-stream"
		}
		if r.Method == http.MethodPost && !isJSONType(ct) {
			http.Error(w, "a POSTed document must be application/json (it is merged)", http.StatusBadRequest)
			return
		}
		if isJSONType(ct) && !json.Valid(bytes.TrimSpace(body)) {
			http.Error(w, "the document is application/json but not JSON", http.StatusBadRequest)
			return
		}
	}
	tx, err := d.db.BeginTx(r.Context(), nil)
	if err != nil {
		statementError(w, err)
		return
	}
	defer tx.Rollback()
	cur, err := d.loadDoc(r.Context(), tx, dk)
	if err != nil {
		statementError(w, err)
		return
	}
	if !preconditions(w, r, k, cur) {
		return
	}
	switch r.Method {
	case http.MethodDelete:
		if cur == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if _, err := tx.Exec(`DELETE FROM documents WHERE kind = ? AND activityId = ? AND agent = ? AND registration = ? AND docId = ?`,
			dk.Kind, dk.ActivityID, dk.agentKey, dk.Registration, dk.ID); err != nil {
			statementError(w, err)
			return
		}
	case http.MethodPost:
		var old []byte
		if cur != nil {
			if !isJSONType(cur.contentType) {
				http.Error(w, "the stored document is not application/json: PUT to replace it", http.StatusBadRequest)
				return
			}
			old = cur.body
		}
		if body, err = mergeJSON(old, body); err != nil {
			statementError(w, err)
			return
		}
		ct = "application/json"
		fallthrough
	default:
		if _, err := tx.Exec(`INSERT OR REPLACE INTO documents (kind, activityId, agent, registration, docId, agentJSON, contentType, updated, etag, body)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, dk.Kind, dk.ActivityID, dk.agentKey, dk.Registration, dk.ID, dk.Agent, ct,
			time.Now().UTC().Format(storedLayout), etagOf(body), body); err != nil {
			statementError(w, err)
			return
		}
	}
	if err := d.outboxDoc(tx, dk); err != nil {
		statementError(w, err)
		return
	}
	if err := d.commitWrite(r.Context(), tx); err != nil {
		statementError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// docRequest is how the Syncer pushes a document outbox row: the
// document's current content by PUT, or DELETE when it is gone.
func (d *DB) docRequest(ctx context.Context, key string) (method, path, contentType string, body []byte, err error) {
	var dk docKey
	if err := json.Unmarshal([]byte(key), &dk); err != nil {
		return "", "", "", nil, fmt.Errorf("document outbox key %q: %v", key, err)
	}
	k, ok := docKinds[dk.Kind]
	if !ok {
		return "", "", "", nil, fmt.Errorf("document outbox key %q: unknown kind", key)
	}
	q := url.Values{k.idParam: {dk.ID}}
	if k.activity {
		q.Set("activityId", dk.ActivityID)
	}
	if k.agent {
		q.Set("agent", dk.Agent)
		if dk.agentKey, err = parseAgentParam(dk.Agent); err != nil {
			return "", "", "", nil, err
		}
	}
	if dk.Registration != "" {
		q.Set("registration", dk.Registration)
	}
	path = k.path + "?" + q.Encode()
	cur, err := d.loadDoc(ctx, d.db, dk)
	if err != nil {
		return "", "", "", nil, err
	}
	if cur == nil {
		return http.MethodDelete, path, "", nil, nil
	}
	return http.MethodPut, path, cur.contentType, cur.body, nil
}
