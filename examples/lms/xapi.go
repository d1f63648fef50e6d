package lms

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
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

// statementVersion is what a statement without a version gets: the spec
// says 1.0.0 (every 1.0.x statement conforms to the 1.0.0 data model).
const statementVersion = "1.0.0"

// errConflict: a statement with this id exists with other content.
var errConflict = errors.New("a different statement with this id exists")

// errBadStatement marks a request the LRS refuses with 400.
var errBadStatement = errors.New("bad request")

// errForbidden marks a request the caller's credentials do not allow (403).
var errForbidden = errors.New("forbidden")

// xapiHeaders wraps an xAPI resource: every response says the version,
// and a request must name a 1.0.x version (except for /about).
func xapiHeaders(h http.HandlerFunc, needVersion bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Experience-API-Version", XAPIVersion)
		v := r.Header.Get("X-Experience-API-Version")
		switch {
		case v == "" && needVersion:
			http.Error(w, "the X-Experience-API-Version header is required (1.0.3)", http.StatusBadRequest)
			return
		case v != "" && !supportedVersion(v):
			http.Error(w, fmt.Sprintf("X-Experience-API-Version %q is not supported: this LRS speaks 1.0.x", v), http.StatusBadRequest)
			return
		}
		h(w, r)
	}
}

// about serves GET /xapi/about.
func (d *DB) about(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"version": []string{XAPIVersion}})
}

// statements serves the xAPI Statement Resource.
func (d *DB) statements(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Experience-API-Consistent-Through", time.Now().UTC().Format(storedLayout))
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		d.getStatements(w, r)
	case http.MethodPost:
		d.postStatements(w, r)
	case http.MethodPut:
		d.putStatement(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST, PUT")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (d *DB) putStatement(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if k != "statementId" {
			http.Error(w, fmt.Sprintf("PUT statements takes only statementId, not %q", k), http.StatusBadRequest)
			return
		}
	}
	id := q.Get("statementId")
	if !validUUID(id) {
		http.Error(w, "PUT needs a statementId that is a UUID", http.StatusBadRequest)
		return
	}
	stmts, array, parts, err := readStatements(r)
	if err == nil && array {
		err = bad("PUT takes one statement, not an array")
	}
	if err == nil {
		err = d.cmi5MayVoid(r, stmts)
	}
	if err != nil {
		statementError(w, err)
		return
	}
	if got, _ := stmts[0]["id"].(string); got != "" && !strings.EqualFold(got, id) {
		http.Error(w, "the statement's id differs from statementId", http.StatusBadRequest)
		return
	}
	stmts[0]["id"] = strings.ToLower(id)
	setAuthority(r.Context(), stmts)
	if _, err := d.storeStatements(r.Context(), stmts, parts); err != nil {
		statementError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// statementError answers err with its status and a one-line reason.
func statementError(w http.ResponseWriter, err error) {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	switch {
	case errors.Is(err, errConflict):
		http.Error(w, msg, http.StatusConflict)
	case errors.Is(err, errBadStatement):
		http.Error(w, msg, http.StatusBadRequest)
	case errors.Is(err, errForbidden):
		http.Error(w, msg, http.StatusForbidden)
	default:
		http.Error(w, msg, http.StatusInternalServerError)
	}
}

// readStatements decodes a body of one statement or an array of them,
// as JSON or as multipart/mixed with the attachments' contents, and
// validates each; array says which it was.
func readStatements(r *http.Request) (list []map[string]any, array bool, parts map[string]attachmentPart, err error) {
	var b []byte
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case mt == "multipart/mixed":
		if params["boundary"] == "" {
			return nil, false, nil, bad("multipart/mixed needs a boundary")
		}
		if b, parts, err = readMultipart(r.Body, params["boundary"]); err != nil {
			return nil, false, nil, err
		}
	case strings.HasPrefix(mt, "multipart/"):
		return nil, false, nil, bad("statements with attachments are multipart/mixed, not %s", mt)
	default:
		if b, err = io.ReadAll(io.LimitReader(r.Body, maxStatementBody+1)); err != nil {
			return nil, false, nil, err
		}
		if len(b) > maxStatementBody {
			return nil, false, nil, bad("body over 1 MiB")
		}
	}
	list, array, err = decodeStatements(b)
	if err == nil && parts != nil {
		err = checkParts(list, parts)
	}
	return list, array, parts, err
}

// decodeStatements decodes and validates one statement or an array.
func decodeStatements(b []byte) (list []map[string]any, array bool, err error) {
	b = bytes.TrimSpace(b)
	array = len(b) > 0 && b[0] == '['
	if array {
		err = json.Unmarshal(b, &list)
		if err == nil && len(list) == 0 {
			return nil, true, bad("an empty array of statements")
		}
	} else {
		var one map[string]any
		err = json.Unmarshal(b, &one)
		list = []map[string]any{one}
	}
	if err != nil {
		return nil, array, bad("the body is not a statement or an array of statements: %v", err)
	}
	seen := map[string]bool{}
	for i, s := range list {
		if s == nil {
			return nil, array, bad("statement %d is null", i)
		}
		if err := validateStatement(s, false); err != nil {
			if array {
				err = fmt.Errorf("statement %d: %w", i, err)
			}
			return nil, array, err
		}
		if id, _ := s["id"].(string); id != "" {
			id = strings.ToLower(id)
			if seen[id] {
				return nil, array, bad("the batch holds id %s twice", id)
			}
			seen[id] = true
		}
	}
	return list, array, nil
}

func (d *DB) postStatements(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		http.Error(w, "a form POST is the alternate request syntax, which needs ?method=", http.StatusBadRequest)
		return
	}
	if len(r.URL.Query()) > 0 {
		http.Error(w, "POST statements takes no query parameters", http.StatusBadRequest)
		return
	}
	stmts, _, parts, err := readStatements(r)
	if err == nil {
		err = d.cmi5MayVoid(r, stmts)
	}
	if err != nil {
		statementError(w, err)
		return
	}
	setAuthority(r.Context(), stmts)
	ids, err := d.storeStatements(r.Context(), stmts, parts)
	if err != nil {
		statementError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ids)
}

// isVoiding reports whether s voids another statement, and which.
func isVoiding(s map[string]any) (string, bool) {
	verb, _ := s["verb"].(map[string]any)
	obj, _ := s["object"].(map[string]any)
	if verb == nil || obj == nil || verb["id"] != VerbVoided || obj["objectType"] != "StatementRef" {
		return "", false
	}
	id, _ := obj["id"].(string)
	return strings.ToLower(id), true
}

// storeStatements stores statements in one transaction with their outbox
// rows and the attachment contents that came with them. A statement whose id exists with the same content is accepted
// again without a second copy (so retries are safe); with other content,
// the whole request fails with errConflict.
func (d *DB) storeStatements(ctx context.Context, stmts []map[string]any, parts map[string]attachmentPart) ([]string, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if err := storeParts(tx, parts); err != nil {
		return nil, err
	}
	issued, err := d.checkCmi5(ctx, tx, stmts)
	if err != nil {
		return nil, err
	}
	n := len(stmts) // the caller's; the LMS's own follow
	stmts = append(stmts, issued...)
	now := time.Now().UTC().Format(storedLayout)
	ids := make([]string, 0, len(stmts))
	voidingInBatch := map[string]bool{}
	for _, s := range stmts {
		if id, _ := s["id"].(string); id != "" {
			if _, ok := isVoiding(s); ok {
				voidingInBatch[strings.ToLower(id)] = true
			}
		}
	}
	for _, s := range stmts {
		id, _ := s["id"].(string)
		if id == "" {
			id = newUUID()
		}
		id = strings.ToLower(id)
		s["id"] = id
		arrayContextActivities(s)
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
		// The LRS sets stored; timestamp defaults to it.
		s["stored"] = now
		if _, ok := s["timestamp"]; !ok {
			s["timestamp"] = now
		}
		if _, ok := s["version"]; !ok {
			s["version"] = statementVersion
		}
		voided := false
		target, voiding := isVoiding(s)
		if voiding {
			var tb string
			err := tx.QueryRow(`SELECT body FROM statements WHERE id = ?`, target).Scan(&tb)
			switch {
			case err == nil:
				var t map[string]any
				json.Unmarshal([]byte(tb), &t)
				if _, v := isVoiding(t); v {
					return nil, bad("statement %s voids %s, a voiding statement, which cannot be voided", id, target)
				}
				if _, err := tx.Exec(`UPDATE statements SET voided = 1 WHERE id = ?`, target); err != nil {
					return nil, err
				}
			case errors.Is(err, sql.ErrNoRows):
				// The spec: not rejected for a missing target; it is voided
				// if it arrives later (see voids).
				if voidingInBatch[target] {
					return nil, bad("statement %s voids %s, a voiding statement, which cannot be voided", id, target)
				}
			default:
				return nil, err
			}
			if _, err := tx.Exec(`INSERT OR IGNORE INTO voids (target, voiding) VALUES (?, ?)`, target, id); err != nil {
				return nil, err
			}
		} else {
			// A statement that arrives after the statement voiding it.
			var by string
			err := tx.QueryRow(`SELECT voiding FROM voids WHERE target = ?`, id).Scan(&by)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, err
			}
			voided = err == nil
		}
		if err := recordActivities(tx, s); err != nil {
			return nil, err
		}
		body, _ := json.Marshal(s)
		if _, err := tx.Exec(`INSERT INTO statements (id, stored, voided, body) VALUES (?, ?, ?, ?)`, id, now, voided, string(body)); err != nil {
			return nil, err
		}
		if d.outbox {
			if _, err := tx.Exec(`INSERT INTO outbox (kind, key, body) VALUES ('statement', ?, ?)`, id, string(body)); err != nil {
				return nil, err
			}
		}
		ids = append(ids, id)
	}
	return ids[:n], d.commitWrite(ctx, tx)
}

// arrayContextActivities makes each context activity of s (and of its
// SubStatement) an array, as the LRS returns them: a single Activity is
// the array of it.
func arrayContextActivities(s map[string]any) {
	if c, _ := s["context"].(map[string]any); c != nil {
		if ca, _ := c["contextActivities"].(map[string]any); ca != nil {
			for k, v := range ca {
				if _, ok := v.([]any); !ok {
					ca[k] = []any{v}
				}
			}
		}
	}
	if obj, _ := s["object"].(map[string]any); obj != nil && obj["objectType"] == "SubStatement" {
		arrayContextActivities(obj)
	}
}

// statementQuery is a parsed GET of the Statement Resource.
type statementQuery struct {
	agent, verb, activity, registration string
	relatedActivities, relatedAgents    bool
	since, until                        string // storedLayout, or empty
	limit                               int
	format                              string
	ascending                           bool
	attachments                         bool     // answer multipart/mixed with the attachments' contents
	after                               int64    // the more link's cursor
	langs                               []string // Accept-Language, most wanted first (format=canonical)
}

var statementParams = map[string]bool{"statementId": true, "voidedStatementId": true, "agent": true, "verb": true,
	"activity": true, "registration": true, "related_activities": true, "related_agents": true, "since": true,
	"until": true, "limit": true, "format": true, "attachments": true, "ascending": true, "after": true}

func parseBool(q url.Values, name string) (bool, error) {
	switch v := q.Get(name); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, bad("%s must be true or false, not %q", name, v)
	}
}

func parseTime(q url.Values, name string) (string, error) {
	v := q.Get(name)
	if v == "" {
		return "", nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return "", bad("%s must be an ISO 8601 timestamp", name)
	}
	// Stored times are UTC in storedLayout: compare like with like.
	return t.UTC().Format(storedLayout), nil
}

func parseStatementQuery(q url.Values) (sq statementQuery, err error) {
	for k, v := range q {
		if !statementParams[k] {
			return sq, bad("unknown parameter %q", k)
		}
		if len(v) > 1 {
			return sq, bad("parameter %q given twice", k)
		}
	}
	if a := q.Get("agent"); a != "" {
		if sq.agent, err = parseAgentParam(a); err != nil {
			return sq, err
		}
	}
	if sq.verb = q.Get("verb"); sq.verb != "" && !isIRI(sq.verb) {
		return sq, bad("verb must be an IRI")
	}
	if sq.activity = q.Get("activity"); sq.activity != "" && !isIRI(sq.activity) {
		return sq, bad("activity must be an IRI")
	}
	if sq.registration = strings.ToLower(q.Get("registration")); sq.registration != "" && !validUUID(sq.registration) {
		return sq, bad("registration must be a UUID")
	}
	if sq.relatedActivities, err = parseBool(q, "related_activities"); err != nil {
		return sq, err
	}
	if sq.relatedAgents, err = parseBool(q, "related_agents"); err != nil {
		return sq, err
	}
	if sq.ascending, err = parseBool(q, "ascending"); err != nil {
		return sq, err
	}
	if sq.attachments, err = parseBool(q, "attachments"); err != nil {
		return sq, err
	}
	if sq.since, err = parseTime(q, "since"); err != nil {
		return sq, err
	}
	if sq.until, err = parseTime(q, "until"); err != nil {
		return sq, err
	}
	sq.limit = 100
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return sq, bad("limit must be a non-negative integer")
		}
		if n > 0 && n < sq.limit {
			sq.limit = n
		}
	}
	switch sq.format = q.Get("format"); sq.format {
	case "":
		sq.format = "exact"
	case "ids", "exact", "canonical":
	default:
		return sq, bad("format must be ids, exact or canonical")
	}
	if a := q.Get("after"); a != "" {
		if sq.after, err = strconv.ParseInt(a, 10, 64); err != nil || sq.after < 0 {
			return sq, bad("after is not a cursor of this LRS")
		}
	}
	return sq, nil
}

func (d *DB) getStatements(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Has("statementId") || q.Has("voidedStatementId") {
		for k := range q {
			switch k {
			case "statementId", "voidedStatementId", "format", "attachments":
			default:
				http.Error(w, fmt.Sprintf("statementId and voidedStatementId take no parameter %q", k), http.StatusBadRequest)
				return
			}
		}
		if q.Has("statementId") && q.Has("voidedStatementId") {
			http.Error(w, "give statementId or voidedStatementId, not both", http.StatusBadRequest)
			return
		}
		sq, err := parseStatementQuery(q)
		if err != nil {
			statementError(w, err)
			return
		}
		sq.langs = acceptLanguages(r.Header.Get("Accept-Language"))
		if q.Has("statementId") {
			d.oneStatement(w, r, q.Get("statementId"), false, sq)
		} else {
			d.oneStatement(w, r, q.Get("voidedStatementId"), true, sq)
		}
		return
	}
	sq, err := parseStatementQuery(q)
	if err != nil {
		statementError(w, err)
		return
	}
	sq.langs = acceptLanguages(r.Header.Get("Accept-Language"))
	out, next, err := d.queryStatements(r.Context(), sq)
	if err != nil {
		statementError(w, err)
		return
	}
	res := map[string]any{"statements": out, "more": ""}
	if next > 0 {
		v := url.Values{}
		for k := range q {
			v.Set(k, q.Get(k))
		}
		v.Set("after", strconv.FormatInt(next, 10))
		res["more"] = StatementsPath + "?" + v.Encode()
	}
	if sq.attachments {
		var list []map[string]any
		for _, s := range out {
			m, _ := s.(map[string]any)
			list = append(list, m)
		}
		d.writeWithAttachments(w, r, res, list)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// queryStatements returns a page of the statements that match sq, and the
// cursor of the next page (0: none).
func (d *DB) queryStatements(ctx context.Context, sq statementQuery) ([]any, int64, error) {
	order, cmp, after := "DESC", "<", sq.after
	if sq.ascending {
		order, cmp = "ASC", ">"
	}
	if after == 0 && !sq.ascending {
		after = 1 << 62
	}
	rows, err := d.db.QueryContext(ctx, `SELECT seq, body FROM statements
		WHERE voided = 0 AND seq `+cmp+` ? AND (? = '' OR stored > ?) AND (? = '' OR stored <= ?)
		ORDER BY seq `+order, after, sq.since, sq.since, sq.until, sq.until)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []any{}
	var last int64
	for rows.Next() {
		var seq int64
		var body string
		if err := rows.Scan(&seq, &body); err != nil {
			return nil, 0, err
		}
		var s map[string]any
		if json.Unmarshal([]byte(body), &s) != nil || !d.matches(ctx, sq, s) {
			continue
		}
		if len(out) == sq.limit {
			return out, last, nil
		}
		out = append(out, formatStatement(s, sq))
		last = seq
	}
	return out, 0, rows.Err()
}

// matches applies the filters that are not about time. For each filter,
// a statement whose object is a StatementRef also matches when its target
// does, recursively (up to a depth).
func (d *DB) matches(ctx context.Context, sq statementQuery, s map[string]any) bool {
	var filters []func(map[string]any) bool
	if sq.registration != "" {
		filters = append(filters, func(s map[string]any) bool {
			c, _ := s["context"].(map[string]any)
			reg, _ := c["registration"].(string)
			return strings.EqualFold(reg, sq.registration)
		})
	}
	if sq.verb != "" {
		filters = append(filters, func(s map[string]any) bool {
			v, _ := s["verb"].(map[string]any)
			return v["id"] == sq.verb
		})
	}
	if sq.agent != "" {
		filters = append(filters, func(s map[string]any) bool { return hasAgent(s, sq.agent, sq.relatedAgents) })
	}
	if sq.activity != "" {
		filters = append(filters, func(s map[string]any) bool { return hasActivity(s, sq.activity, sq.relatedActivities) })
	}
	for _, f := range filters {
		t, ok := s, false
		for depth := 0; t != nil && depth < 10; depth++ {
			if ok = f(t); ok {
				break
			}
			t = d.target(ctx, t)
		}
		if !ok {
			return false
		}
	}
	return true
}

// target returns the statement s refers to as its object, or nil.
func (d *DB) target(ctx context.Context, s map[string]any) map[string]any {
	obj, _ := s["object"].(map[string]any)
	if obj["objectType"] != "StatementRef" {
		return nil
	}
	id, _ := obj["id"].(string)
	var body string
	if d.db.QueryRowContext(ctx, `SELECT body FROM statements WHERE id = ?`, strings.ToLower(id)).Scan(&body) != nil {
		return nil
	}
	var t map[string]any
	json.Unmarshal([]byte(body), &t)
	return t
}

func keyOf(v any) string {
	k, _ := agentKey(v, "", true)
	return k
}

// hasAgent: the actor or object is the agent; with related, also the
// authority, instructor, team, group members and a SubStatement's agents.
func hasAgent(s map[string]any, key string, related bool) bool {
	if keyOf(s["actor"]) == key {
		return true
	}
	obj, _ := s["object"].(map[string]any)
	if t := obj["objectType"]; (t == "Agent" || t == "Group") && keyOf(obj) == key {
		return true
	}
	if !related {
		return false
	}
	for _, g := range []any{s["actor"], obj} {
		if m, _ := g.(map[string]any); m != nil {
			list, _ := m["member"].([]any)
			for _, a := range list {
				if keyOf(a) == key {
					return true
				}
			}
		}
	}
	if keyOf(s["authority"]) == key {
		return true
	}
	if c, _ := s["context"].(map[string]any); c != nil && (keyOf(c["instructor"]) == key || keyOf(c["team"]) == key) {
		return true
	}
	return obj["objectType"] == "SubStatement" && hasAgent(obj, key, true)
}

// errFound stops a walk over a statement's parts once the part sought is
// found.
var errFound = errors.New("found")

// hasActivity: the object is the activity; with related, also the context
// activities and a SubStatement's.
func hasActivity(s map[string]any, id string, related bool) bool {
	obj, _ := s["object"].(map[string]any)
	if t := obj["objectType"]; (t == nil || t == "Activity") && obj["id"] == id {
		return true
	}
	if !related {
		return false
	}
	if contextActivities(s, func(a any) error {
		if m, _ := a.(map[string]any); m != nil && m["id"] == id {
			return errFound
		}
		return nil
	}) != nil {
		return true
	}
	return obj["objectType"] == "SubStatement" && hasActivity(obj, id, true)
}

// formatStatement applies format: ids keeps only identifiers of agents,
// activities and verbs; canonical keeps one language of each language
// map, the one Accept-Language prefers; exact returns the statement as
// stored.
func formatStatement(s map[string]any, sq statementQuery) any {
	switch sq.format {
	case "ids":
		return idsOnly(s, "").(map[string]any)
	case "canonical":
		return canonical(s, "", sq.langs)
	}
	return s
}

func idsOnly(v any, key string) any {
	switch x := v.(type) {
	case map[string]any:
		switch {
		case key == "verb":
			return map[string]any{"id": x["id"]}
		case key == "actor" || key == "authority" || key == "instructor" || key == "team" || key == "member" ||
			key == "object" && (x["objectType"] == "Agent" || x["objectType"] == "Group"):
			c := map[string]any{}
			for _, k := range []string{"objectType", "mbox", "mbox_sha1sum", "openid", "account"} {
				if e, ok := x[k]; ok {
					c[k] = e
				}
			}
			if m, ok := x["member"]; ok {
				c["member"] = idsOnly(m, "member")
			}
			return c
		case (key == "object" || key == "parent" || key == "grouping" || key == "category" || key == "other") &&
			(x["objectType"] == nil || x["objectType"] == "Activity"):
			return map[string]any{"id": x["id"]}
		}
		c := make(map[string]any, len(x))
		for k, e := range x {
			c[k] = idsOnly(e, k)
		}
		return c
	case []any:
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = idsOnly(e, key)
		}
		return c
	}
	return v
}

func (d *DB) oneStatement(w http.ResponseWriter, r *http.Request, id string, voided bool, sq statementQuery) {
	if !validUUID(id) {
		http.Error(w, "statementId and voidedStatementId must be UUIDs", http.StatusBadRequest)
		return
	}
	var body, stored string
	var isVoided bool
	err := d.db.QueryRowContext(r.Context(), `SELECT body, stored, voided FROM statements WHERE id = ?`, strings.ToLower(id)).Scan(&body, &stored, &isVoided)
	if errors.Is(err, sql.ErrNoRows) || err == nil && isVoided != voided {
		http.Error(w, "no such statement", http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if t, err := time.Parse(time.RFC3339Nano, stored); err == nil {
		w.Header().Set("Last-Modified", t.UTC().Format(http.TimeFormat))
	}
	if sq.format != "exact" || sq.attachments {
		var s map[string]any
		json.Unmarshal([]byte(body), &s)
		out, _ := formatStatement(s, sq).(map[string]any)
		if sq.attachments {
			d.writeWithAttachments(w, r, out, []map[string]any{out})
			return
		}
		writeJSON(w, http.StatusOK, out)
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
