package lms

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// cmi5: the LMS launches an assignable unit (AU) the cmi5 way. LaunchAU
// writes the LMS.LaunchData State document and the learner preferences,
// records the launched statement and returns the AU's launch URL with the
// cmi5 launch parameters; the AU POSTs once to the fetch URL for its auth
// token, and the statement resource checks the cmi5 defined statements of
// the registrations it launched.

// cmi5 identifiers.
const (
	// Cmi5FetchPath is where an AU fetches its auth token, once.
	Cmi5FetchPath = "/cmi5/fetch/"
	// Cmi5LaunchPath takes a launch request (POST, JSON Cmi5LaunchRequest).
	Cmi5LaunchPath = "/cmi5/launch"
	// Cmi5Category marks a cmi5 defined statement.
	Cmi5Category = "https://w3id.org/xapi/cmi5/context/categories/cmi5"
	// Cmi5SessionID is the context extension naming the launch session.
	Cmi5SessionID = "https://w3id.org/xapi/cmi5/context/extensions/sessionid"
	// Cmi5MasteryScore is the context extension carrying the mastery score.
	Cmi5MasteryScore = "https://w3id.org/xapi/cmi5/context/extensions/masteryscore"
	// Cmi5LaunchDataID is the stateId of the launch data document.
	Cmi5LaunchDataID = "LMS.LaunchData"
	// Cmi5PreferencesID is the profileId of the learner preferences.
	Cmi5PreferencesID = "cmi5LearnerPreferences"
	// Cmi5FetchTTL is how long a fetch URL can be used.
	Cmi5FetchTTL = 5 * time.Minute
	// Cmi5TokenTTL is how long an auth token works after its fetch; a
	// relaunch that abandons its session ends it sooner.
	Cmi5TokenTTL = 12 * time.Hour
)

// The cmi5 verbs.
const (
	VerbLaunched    = "http://adlnet.gov/expapi/verbs/launched"
	VerbInitialized = "http://adlnet.gov/expapi/verbs/initialized"
	VerbCompleted   = "http://adlnet.gov/expapi/verbs/completed"
	VerbPassed      = "http://adlnet.gov/expapi/verbs/passed"
	VerbFailed      = "http://adlnet.gov/expapi/verbs/failed"
	VerbTerminated  = "http://adlnet.gov/expapi/verbs/terminated"
	VerbAbandoned   = "https://w3id.org/xapi/adl/verbs/abandoned"
	VerbWaived      = "https://w3id.org/xapi/adl/verbs/waived"
	VerbSatisfied   = "https://w3id.org/xapi/adl/verbs/satisfied"
)

// AU is an assignable unit of a course.
type AU struct {
	// URL is where the AU is launched.
	URL string `json:"url"`
	// ActivityID is the AU's activity id (an IRI).
	ActivityID string `json:"activityId"`
	// MoveOn is Passed, Completed, CompletedAndPassed, CompletedOrPassed
	// or NotApplicable (empty means NotApplicable).
	MoveOn string `json:"moveOn,omitempty"`
	// MasteryScore, when set, is the scaled score passed needs (0..1).
	MasteryScore *float64 `json:"masteryScore,omitempty"`
	// LaunchMode is Normal (empty), Browse or Review.
	LaunchMode string `json:"launchMode,omitempty"`
	// ReturnURL is where the AU sends the learner when done.
	ReturnURL string `json:"returnURL,omitempty"`
	// LaunchParameters are passed to the AU verbatim.
	LaunchParameters string `json:"launchParameters,omitempty"`
}

// Cmi5LaunchRequest asks the LMS for an AU launch.
type Cmi5LaunchRequest struct {
	AU AU `json:"au"`
	// Actor is the learner: an xAPI Agent with an account.
	Actor map[string]any `json:"actor"`
	// Registration continues a registration; empty starts a new one.
	Registration string `json:"registration,omitempty"`
	// Base is the LMS's base URL as the AU reaches it (endpoint and
	// fetch URLs are made from it).
	Base string `json:"base"`
	// IPCService, when set, is passed as ipc-service.
	IPCService string `json:"ipcService,omitempty"`
	// Language and AudioPreference are the learner preferences.
	Language        string `json:"language,omitempty"`
	AudioPreference string `json:"audioPreference,omitempty"`
	// CourseID, when set, is the activity id (an IRI) of the course the
	// AU belongs to (a course of this one AU): the LMS records that the
	// learner satisfied it once the AU's moveOn criteria are met (at
	// launch for NotApplicable).
	CourseID string `json:"courseId,omitempty"`
}

// Cmi5WaiveRequest asks the LMS to waive an AU for a registration.
type Cmi5WaiveRequest struct {
	// Actor is the learner, as in the launch.
	Actor map[string]any `json:"actor"`
	// Registration and ActivityID name the AU of the registration.
	Registration string `json:"registration"`
	ActivityID   string `json:"activityId"`
	// Reason is one of Tested, Equivalent, Administrative.
	Reason string `json:"reason"`
	// CourseID, when set, is the course the LMS then reports satisfied.
	CourseID string `json:"courseId,omitempty"`
}

const cmi5Schema = `
CREATE TABLE IF NOT EXISTS cmi5_sessions (fetch TEXT PRIMARY KEY, token TEXT NOT NULL, session TEXT UNIQUE NOT NULL, registration TEXT NOT NULL, activityId TEXT NOT NULL, actor TEXT NOT NULL, mastery REAL, used INTEGER NOT NULL DEFAULT 0, expires INTEGER NOT NULL,
  mode TEXT NOT NULL DEFAULT 'Normal', moveOn TEXT NOT NULL DEFAULT 'NotApplicable', course TEXT NOT NULL DEFAULT '');
`

// The cmi5 extensions and activity types the LMS writes.
const (
	cmi5LaunchModeExt = "https://w3id.org/xapi/cmi5/context/extensions/launchmode"
	cmi5MoveOnExt     = "https://w3id.org/xapi/cmi5/context/extensions/moveon"
	cmi5LaunchURLExt  = "https://w3id.org/xapi/cmi5/context/extensions/launchurl"
	cmi5ReasonExt     = "https://w3id.org/xapi/cmi5/result/extensions/reason"
	cmi5CourseType    = "https://w3id.org/xapi/cmi5/activitytype/course"
)

// lmsIssuedKey marks a context whose statements the LMS issues itself
// (launched, abandoned, waived, satisfied); an AU may not send those.
type lmsIssuedKey struct{}

func lmsIssued(ctx context.Context) context.Context {
	return context.WithValue(ctx, lmsIssuedKey{}, true)
}

func isLMSIssued(ctx context.Context) bool {
	v, _ := ctx.Value(lmsIssuedKey{}).(bool)
	return v
}

// cmi5Statement builds a cmi5 defined statement the LMS issues.
func cmi5Statement(actor map[string]any, verb, object, reg, session string, ext map[string]any) map[string]any {
	e := map[string]any{Cmi5SessionID: session}
	for k, v := range ext {
		e[k] = v
	}
	obj := map[string]any{"objectType": "Activity", "id": object}
	return map[string]any{
		"actor":  actor,
		"verb":   map[string]any{"id": verb, "display": map[string]any{"en-US": verb[strings.LastIndex(verb, "/")+1:]}},
		"object": obj,
		"context": map[string]any{
			"registration":      reg,
			"extensions":        e,
			"contextActivities": map[string]any{"category": []any{map[string]any{"id": Cmi5Category}}},
		},
	}
}

// satisfiedStatement is the statement that the learner satisfied course.
func satisfiedStatement(actor map[string]any, course, reg, session string) map[string]any {
	st := cmi5Statement(actor, VerbSatisfied, course, reg, session, nil)
	st["object"].(map[string]any)["definition"] = map[string]any{"type": cmi5CourseType}
	return st
}

// definedSQL is the condition that a statement (column body) is a cmi5
// defined statement: it carries the cmi5 category.
const definedSQL = `EXISTS (SELECT 1 FROM json_each(body, '$.context.contextActivities.category') WHERE json_extract(value, '$.id') = '` + Cmi5Category + `')`

// hasCmi5 reports whether a cmi5 defined statement with verb exists, not
// voided, in session (when session is set) or else in registration reg
// for the AU activity.
func hasCmi5(tx *sql.Tx, verb, session, reg, activity string) (bool, error) {
	var n int
	var err error
	if session != "" {
		err = tx.QueryRow(`SELECT COUNT(*) FROM statements WHERE voided = 0 AND json_extract(body, '$.verb.id') = ? AND `+
			`json_extract(body, '$.context.extensions."`+Cmi5SessionID+`"') = ? AND `+definedSQL, verb, session).Scan(&n)
	} else {
		err = tx.QueryRow(`SELECT COUNT(*) FROM statements WHERE voided = 0 AND json_extract(body, '$.verb.id') = ? AND `+
			`json_extract(body, '$.context.registration') = ? AND json_extract(body, '$.object.id') = ? AND `+definedSQL, verb, reg, activity).Scan(&n)
	}
	return n > 0, err
}

// moveOnMet reports whether the AU's moveOn criteria are met, given
// whether it is passed, completed and waived.
func moveOnMet(moveOn string, passed, completed, waived bool) bool {
	if waived {
		return true
	}
	switch moveOn {
	case "Passed":
		return passed
	case "Completed":
		return completed
	case "CompletedAndPassed":
		return passed && completed
	case "CompletedOrPassed":
		return passed || completed
	default: // NotApplicable
		return true
	}
}

// courseSatisfied reports whether the LMS already recorded that the
// learner satisfied course in registration reg.
func courseSatisfied(tx *sql.Tx, course, reg string) (bool, error) {
	var n int
	err := tx.QueryRow(`SELECT COUNT(*) FROM statements WHERE voided = 0 AND json_extract(body, '$.verb.id') = ? AND `+
		`json_extract(body, '$.context.registration') = ? AND json_extract(body, '$.object.id') = ?`, VerbSatisfied, reg, course).Scan(&n)
	return n > 0, err
}

// isoDuration formats d as an ISO 8601 duration with seconds to the
// hundredth, as xAPI results carry it.
func isoDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return fmt.Sprintf("PT%.2fS", d.Seconds())
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func randomToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// LaunchAU prepares a launch of req.AU for req.Actor and returns the
// AU's launch URL with the cmi5 launch parameters (endpoint, fetch,
// actor, registration, activityId) and ipc-service.
func (d *DB) LaunchAU(ctx context.Context, req Cmi5LaunchRequest) (string, error) {
	au := req.AU
	if !isIRI(au.ActivityID) {
		return "", bad("the AU's activityId must be an IRI")
	}
	u, err := url.Parse(au.URL)
	if err != nil || u.Scheme == "" {
		return "", bad("the AU's url must be absolute")
	}
	if req.Actor["objectType"] == nil {
		req.Actor["objectType"] = "Agent"
	}
	if _, ok := req.Actor["account"]; !ok {
		return "", bad("the cmi5 actor must be an Agent with an account")
	}
	actorJSON, _ := json.Marshal(req.Actor)
	agentK, err := parseAgentParam(string(actorJSON))
	if err != nil {
		return "", err
	}
	reg := strings.ToLower(req.Registration)
	if reg == "" {
		reg = newUUID()
	} else if !validUUID(reg) {
		return "", bad("registration must be a UUID")
	}
	mode := or(au.LaunchMode, "Normal")
	moveOn := or(au.MoveOn, "NotApplicable")
	session := newUUID()
	base := strings.TrimSuffix(req.Base, "/")
	fetchID, token := randomToken(), base64.StdEncoding.EncodeToString([]byte("cmi5:"+randomToken()))

	launchData := map[string]any{
		"contextTemplate": map[string]any{
			"extensions": map[string]any{Cmi5SessionID: session},
		},
		"launchMode": mode,
		"moveOn":     moveOn,
	}
	if au.MasteryScore != nil {
		launchData["masteryScore"] = *au.MasteryScore
	}
	if au.ReturnURL != "" {
		launchData["returnURL"] = au.ReturnURL
	}
	if au.LaunchParameters != "" {
		launchData["launchParameters"] = au.LaunchParameters
	}
	prefs := map[string]any{"languagePreference": or(req.Language, "en-US"), "audioPreference": or(req.AudioPreference, "on")}

	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	var mastery any
	if au.MasteryScore != nil {
		mastery = *au.MasteryScore
	}
	if req.CourseID != "" && !isIRI(req.CourseID) {
		return "", bad("courseId must be an IRI")
	}
	switch mode {
	case "Normal", "Browse", "Review":
	default:
		return "", bad("launchMode must be Normal, Browse or Review")
	}
	switch moveOn {
	case "Passed", "Completed", "CompletedAndPassed", "CompletedOrPassed", "NotApplicable":
	default:
		return "", bad("moveOn must be Passed, Completed, CompletedAndPassed, CompletedOrPassed or NotApplicable")
	}
	if _, err := tx.Exec(`INSERT INTO cmi5_sessions (fetch, token, session, registration, activityId, actor, mastery, expires, mode, moveOn, course) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		hashHex(fetchID), hashHex(token), session, reg, au.ActivityID, string(actorJSON), mastery, time.Now().Add(Cmi5FetchTTL).Unix(), mode, moveOn, req.CourseID); err != nil {
		return "", err
	}
	put := func(dk docKey, v any) error {
		body, _ := json.Marshal(v)
		if _, err := tx.Exec(`INSERT OR REPLACE INTO documents (kind, activityId, agent, registration, docId, agentJSON, contentType, updated, etag, body)
			VALUES (?, ?, ?, ?, ?, ?, 'application/json', ?, ?, ?)`, dk.Kind, dk.ActivityID, agentK, dk.Registration, dk.ID, dk.Agent,
			time.Now().UTC().Format(storedLayout), etagOf(body), body); err != nil {
			return err
		}
		return d.outboxDoc(tx, dk)
	}
	if err := put(docKey{Kind: docState.name, ActivityID: au.ActivityID, Agent: string(actorJSON), Registration: reg, ID: Cmi5LaunchDataID}, launchData); err != nil {
		return "", err
	}
	if err := put(docKey{Kind: docAgentProfile.name, Agent: string(actorJSON), ID: Cmi5PreferencesID}, prefs); err != nil {
		return "", err
	}
	if err := tx.Commit(); err != nil {
		return "", err
	}
	// The LMS's own statements: abandoned for a session of this
	// registration and AU still active, launched, and satisfied for the
	// course of an AU whose moveOn is NotApplicable.
	stmts, err := d.abandonActive(ctx, req.Actor, reg, au.ActivityID, session)
	if err != nil {
		return "", err
	}
	stmts = append(stmts, cmi5Statement(req.Actor, VerbLaunched, au.ActivityID, reg, session, map[string]any{
		cmi5LaunchModeExt: mode, cmi5MoveOnExt: moveOn, cmi5LaunchURLExt: au.URL}))
	if req.CourseID != "" && moveOn == "NotApplicable" {
		stmts = append(stmts, satisfiedStatement(req.Actor, req.CourseID, reg, session))
	}
	if _, err := d.storeStatements(lmsIssued(ctx), stmts, nil); err != nil {
		return "", err
	}
	// The abandoned sessions' tokens stop working.
	for _, st := range stmts {
		if st["verb"].(map[string]any)["id"] == VerbAbandoned {
			sid := st["context"].(map[string]any)["extensions"].(map[string]any)[Cmi5SessionID]
			if _, err := d.db.ExecContext(ctx, `UPDATE cmi5_sessions SET expires = 0 WHERE session = ?`, sid); err != nil {
				return "", err
			}
		}
	}
	q := u.Query()
	q.Set("endpoint", base+"/xapi/")
	q.Set("fetch", base+Cmi5FetchPath+fetchID)
	q.Set("actor", string(actorJSON))
	q.Set("registration", reg)
	q.Set("activityId", au.ActivityID)
	if req.IPCService != "" {
		q.Set("ipc-service", req.IPCService)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// abandonActive returns an abandoned statement for each session of
// registration reg and AU activity, other than current, that was launched
// and has neither terminated nor been abandoned: a new launch ends it. Its
// duration runs from launched to the session's last statement.
func (d *DB) abandonActive(ctx context.Context, actor map[string]any, reg, activity, current string) ([]map[string]any, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT session FROM cmi5_sessions WHERE registration = ? AND activityId = ? AND session <> ?`, reg, activity, current)
	if err != nil {
		return nil, err
	}
	var sessions []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return nil, err
		}
		sessions = append(sessions, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, session := range sessions {
		var launched, ended int
		var first, last sql.NullString
		err := d.db.QueryRowContext(ctx, `SELECT
			COALESCE(SUM(json_extract(body, '$.verb.id') = ?), 0),
			COALESCE(SUM(json_extract(body, '$.verb.id') IN (?, ?)), 0),
			MIN(json_extract(body, '$.timestamp')), MAX(json_extract(body, '$.timestamp'))
			FROM statements WHERE voided = 0 AND json_extract(body, '$.context.extensions."`+Cmi5SessionID+`"') = ?`,
			VerbLaunched, VerbTerminated, VerbAbandoned, session).Scan(&launched, &ended, &first, &last)
		if err != nil {
			return nil, err
		}
		if launched == 0 || ended > 0 {
			continue
		}
		t0, _ := time.Parse(time.RFC3339Nano, first.String)
		t1, _ := time.Parse(time.RFC3339Nano, last.String)
		st := cmi5Statement(actor, VerbAbandoned, activity, reg, session, nil)
		st["result"] = map[string]any{"duration": isoDuration(t1.Sub(t0))}
		out = append(out, st)
	}
	return out, nil
}

// WaiveAU records that the LMS waived the AU req.ActivityID for
// req.Registration (the requirements met by other means), in a session
// of its own, and that the learner satisfied req.CourseID when set. An AU
// is waived at most once per registration.
func (d *DB) WaiveAU(ctx context.Context, req Cmi5WaiveRequest) error {
	switch req.Reason {
	case "Tested", "Equivalent", "Administrative":
	default:
		return bad("the reason must be Tested, Equivalent or Administrative")
	}
	reg := strings.ToLower(req.Registration)
	if !validUUID(reg) || !isIRI(req.ActivityID) || req.CourseID != "" && !isIRI(req.CourseID) {
		return bad("a waiver needs a registration (UUID) and activityId (and courseId) IRIs")
	}
	if req.Actor["objectType"] == nil {
		req.Actor["objectType"] = "Agent"
	}
	if _, ok := req.Actor["account"]; !ok {
		return bad("the cmi5 actor must be an Agent with an account")
	}
	var n int
	if err := d.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM statements WHERE voided = 0 AND json_extract(body, '$.verb.id') = ? AND `+
		`json_extract(body, '$.context.registration') = ? AND json_extract(body, '$.object.id') = ?`, VerbWaived, reg, req.ActivityID).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%w: the AU is already waived in registration %s", errConflict, reg)
	}
	session := newUUID()
	st := cmi5Statement(req.Actor, VerbWaived, req.ActivityID, reg, session, nil)
	st["result"] = map[string]any{"success": true, "completion": true, "extensions": map[string]any{cmi5ReasonExt: req.Reason}}
	stmts := []map[string]any{st}
	if req.CourseID != "" {
		stmts = append(stmts, satisfiedStatement(req.Actor, req.CourseID, reg, session))
	}
	_, err := d.storeStatements(lmsIssued(ctx), stmts, nil)
	return err
}

// cmi5Error answers a fetch with the cmi5 error JSON.
func cmi5Error(w http.ResponseWriter, code int, text string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusBadRequest, map[string]string{"error-code": fmt.Sprint(code), "error-text": text})
}

// cmi5Fetch serves the fetch URL: POST, once, within Cmi5FetchTTL.
func (d *DB) cmi5Fetch(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "the fetch URL takes POST", http.StatusMethodNotAllowed)
		return
	}
	// The token is handed out in the statement that marks the fetch used:
	// a second fetch, even a concurrent one, finds nothing. The table holds
	// only the token's hash, so this fetch makes a new token.
	token := base64.StdEncoding.EncodeToString([]byte("cmi5:" + randomToken()))
	var session string
	now := time.Now()
	err := d.db.QueryRowContext(r.Context(), `UPDATE cmi5_sessions SET used = 1, token = ?, expires = ? WHERE fetch = ? AND used = 0 AND expires >= ? RETURNING session`,
		hashHex(token), now.Add(Cmi5TokenTTL).Unix(), hashHex(r.PathValue("id")), now.Unix()).Scan(&session)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		cmi5Error(w, 1, "the fetch URL was already used, has expired or is unknown")
	case err != nil:
		cmi5Error(w, 3, "general application error")
	default:
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, map[string]string{"auth-token": token})
	}
}

// Cmi5Token reports whether tok is an auth token handed out by a fetch,
// still working (within Cmi5TokenTTL of the fetch, its session not
// abandoned), and the actor it is for.
func (d *DB) Cmi5Token(ctx context.Context, tok string) (actor string, ok bool) {
	err := d.db.QueryRowContext(ctx, `SELECT actor FROM cmi5_sessions WHERE token = ? AND used = 1 AND expires >= ?`, hashHex(tok), time.Now().Unix()).Scan(&actor)
	return actor, err == nil
}

// cmi5MayVoid refuses voiding statements sent with an AU's auth token:
// cmi5 forbids the LMS to give an AU credentials that can void statements.
func (d *DB) cmi5MayVoid(r *http.Request, stmts []map[string]any) error {
	for i, s := range stmts {
		if _, voiding := isVoiding(s); !voiding {
			continue
		}
		// AUs send the token as Basic; the device LMS also admits Bearer.
		scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Basic") && !strings.EqualFold(scheme, "Bearer") {
			return nil
		}
		if _, au := d.Cmi5Token(r.Context(), strings.TrimSpace(tok)); au {
			return fmt.Errorf("%w: statement %d: cmi5: an AU's auth token cannot void statements", errForbidden, i)
		}
		return nil
	}
	return nil
}

// cmi5Launch serves Cmi5LaunchPath: a launch request in, the URL out.
func (d *DB) cmi5Launch(w http.ResponseWriter, r *http.Request) {
	var req Cmi5LaunchRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil || req.Actor == nil {
		http.Error(w, "the body must be a launch request with an actor", http.StatusBadRequest)
		return
	}
	u, err := d.LaunchAU(r.Context(), req)
	if err != nil {
		statementError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"url": u})
}

// lmsVerbs are the cmi5 defined verbs only the LMS issues.
var lmsVerbs = map[string]bool{VerbLaunched: true, VerbAbandoned: true, VerbWaived: true, VerbSatisfied: true}

// cmi5Session is what the LMS keeps of a launch session.
type cmi5Session struct {
	activity, actor, mode, moveOn, course string
	mastery                               sql.NullFloat64
}

// checkCmi5 refuses the statements of a registration this LMS launched
// that break the cmi5 rules (a statement is "cmi5 defined" when it carries
// the cmi5 category, "cmi5 allowed" otherwise):
//   - every statement carries the session id of a session of the
//     registration, follows initialized and precedes terminated or
//     abandoned;
//   - an AU does not send the LMS's verbs (launched, abandoned, waived,
//     satisfied) as cmi5 defined statements;
//   - in a session, no cmi5 defined verb twice and not both passed and
//     failed; in Browse or Review mode, only initialized and terminated;
//   - per registration and AU, one passed and one completed, no failed
//     after passed, passed at or above the mastery score (failed below
//     it);
//   - result.success only on passed (true) and failed (false),
//     result.completion only on completed (true).
//
// It returns the statements the LMS issues because of the batch: that the
// learner satisfied the course, once the AU's moveOn criteria are met.
// Statements issued by the LMS itself (a context marked by lmsIssued) are
// not checked.
func (d *DB) checkCmi5(ctx context.Context, tx *sql.Tx, stmts []map[string]any) ([]map[string]any, error) {
	if isLMSIssued(ctx) {
		return nil, nil
	}
	seen := map[string]bool{} // session or registration+AU key + verb, of earlier statements of the batch
	type auKey struct{ reg, activity string }
	touched := map[auKey]string{} // registration and AU whose moveOn may now be met, with the session
	var sessions = map[string]cmi5Session{}
	for i, s := range stmts {
		sctx, _ := s["context"].(map[string]any)
		reg, _ := sctx["registration"].(string)
		reg = strings.ToLower(reg)
		if reg == "" {
			continue
		}
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM cmi5_sessions WHERE registration = ?`, reg).Scan(&n); err != nil {
			return nil, err
		}
		if n == 0 {
			continue
		}
		if id, _ := s["id"].(string); id != "" {
			if err := tx.QueryRow(`SELECT COUNT(*) FROM statements WHERE id = ?`, strings.ToLower(id)).Scan(&n); err != nil {
				return nil, err
			}
			if n > 0 {
				continue // a retry: storeStatements compares it
			}
		}
		verb, _ := s["verb"].(map[string]any)
		v, _ := verb["id"].(string)
		defined := hasCategory(sctx, Cmi5Category)
		if defined && lmsVerbs[v] {
			return nil, bad("statement %d: cmi5: %s is issued by the LMS only", i, v)
		}
		ext, _ := sctx["extensions"].(map[string]any)
		session, _ := ext[Cmi5SessionID].(string)
		ss, ok := sessions[session]
		if !ok {
			err := tx.QueryRow(`SELECT activityId, actor, mode, moveOn, course, mastery FROM cmi5_sessions WHERE session = ? AND registration = ?`, session, reg).
				Scan(&ss.activity, &ss.actor, &ss.mode, &ss.moveOn, &ss.course, &ss.mastery)
			if errors.Is(err, sql.ErrNoRows) {
				return nil, bad("statement %d: cmi5: the context needs the session id extension of a session of registration %s", i, reg)
			}
			if err != nil {
				return nil, err
			}
			sessions[session] = ss
		}
		inSession := func(verb string) (bool, error) {
			if seen[session+verb] {
				return true, nil
			}
			return hasCmi5(tx, verb, session, "", "")
		}
		inRegistration := func(verb string) (bool, error) {
			if seen[reg+ss.activity+verb] {
				return true, nil
			}
			return hasCmi5(tx, verb, "", reg, ss.activity)
		}
		for _, end := range []string{VerbTerminated, VerbAbandoned} {
			done, err := inSession(end)
			if err != nil {
				return nil, err
			}
			if done {
				return nil, bad("statement %d: cmi5: session %s is %s", i, session, end[strings.LastIndex(end, "/")+1:])
			}
		}
		init, err := inSession(VerbInitialized)
		if err != nil {
			return nil, err
		}
		isInit := defined && v == VerbInitialized
		switch {
		case isInit && init:
			return nil, bad("statement %d: cmi5: session %s is already initialized", i, session)
		case !isInit && !init:
			return nil, bad("statement %d: cmi5: statements of session %s must follow initialized", i, session)
		}
		if !defined {
			continue // cmi5 allowed: only the session rules apply
		}
		if obj, _ := s["object"].(map[string]any); obj["id"] != ss.activity {
			return nil, bad("statement %d: cmi5: the object of a cmi5 defined statement is the AU %s", i, ss.activity)
		}
		if ss.mode != "Normal" && v != VerbInitialized && v != VerbTerminated {
			return nil, bad("statement %d: cmi5: session %s was launched in %s mode, where an AU sends only initialized and terminated", i, session, ss.mode)
		}
		if err := cmi5Result(s, v); err != nil {
			return nil, bad("statement %d: cmi5: %v", i, err)
		}
		if v != VerbInitialized {
			dup, err := inSession(v)
			if err != nil {
				return nil, err
			}
			if dup {
				return nil, bad("statement %d: cmi5: session %s already has %s", i, session, v[strings.LastIndex(v, "/")+1:])
			}
		}
		switch v {
		case VerbPassed, VerbFailed:
			other := map[string]string{VerbPassed: VerbFailed, VerbFailed: VerbPassed}[v]
			if both, err := inSession(other); err != nil {
				return nil, err
			} else if both {
				return nil, bad("statement %d: cmi5: session %s already has %s", i, session, other[strings.LastIndex(other, "/")+1:])
			}
		}
		if v == VerbPassed || v == VerbCompleted || v == VerbFailed {
			for _, w := range []string{VerbPassed, VerbCompleted} {
				if v == w || v == VerbFailed && w == VerbPassed {
					done, err := inRegistration(w)
					if err != nil {
						return nil, err
					}
					if done {
						return nil, bad("statement %d: cmi5: registration %s is already %s", i, reg, w[strings.LastIndex(w, "/")+1:])
					}
				}
			}
			touched[auKey{reg, ss.activity}] = session
		}
		if (v == VerbPassed || v == VerbFailed) && ss.mastery.Valid {
			res, _ := s["result"].(map[string]any)
			score, _ := res["score"].(map[string]any)
			scaled, ok := score["scaled"].(float64)
			switch {
			case v == VerbPassed && ok && scaled < ss.mastery.Float64:
				return nil, bad("statement %d: cmi5: passed with scaled score %v, below the mastery score %v", i, scaled, ss.mastery.Float64)
			case v == VerbFailed && ok && scaled >= ss.mastery.Float64:
				return nil, bad("statement %d: cmi5: failed with scaled score %v, at or above the mastery score %v", i, scaled, ss.mastery.Float64)
			}
		}
		seen[session+v] = true
		seen[reg+ss.activity+v] = true
	}

	// The LMS's satisfied statements for the AUs whose moveOn the batch met.
	var out []map[string]any
	for k, session := range touched {
		ss := sessions[session]
		if ss.course == "" {
			continue
		}
		status := map[string]bool{}
		for _, w := range []string{VerbPassed, VerbCompleted, VerbWaived} {
			ok := seen[k.reg+k.activity+w]
			if !ok {
				var err error
				if ok, err = hasCmi5(tx, w, "", k.reg, k.activity); err != nil {
					return nil, err
				}
			}
			status[w] = ok
		}
		if !moveOnMet(ss.moveOn, status[VerbPassed], status[VerbCompleted], status[VerbWaived]) {
			continue
		}
		done, err := courseSatisfied(tx, ss.course, k.reg)
		if err != nil {
			return nil, err
		}
		if !done {
			var actor map[string]any
			json.Unmarshal([]byte(ss.actor), &actor)
			out = append(out, satisfiedStatement(actor, ss.course, k.reg, session))
		}
	}
	return out, nil
}

// cmi5Result checks the result of a cmi5 defined statement with verb v:
// success only on passed (true) and failed (false), completion only on
// completed (true).
func cmi5Result(s map[string]any, v string) error {
	res, _ := s["result"].(map[string]any)
	success, hasSuccess := res["success"]
	completion, hasCompletion := res["completion"]
	switch v {
	case VerbPassed, VerbFailed:
		if success != (v == VerbPassed) {
			return fmt.Errorf("%s needs result.success %v", v[strings.LastIndex(v, "/")+1:], v == VerbPassed)
		}
	default:
		if hasSuccess {
			return fmt.Errorf("only passed and failed carry result.success")
		}
	}
	switch v {
	case VerbCompleted:
		if completion != true {
			return fmt.Errorf("completed needs result.completion true")
		}
	default:
		if hasCompletion {
			return fmt.Errorf("only completed carries result.completion")
		}
	}
	return nil
}

// hasCategory reports whether a context's category activities hold id.
func hasCategory(ctx map[string]any, id string) bool {
	ca, _ := ctx["contextActivities"].(map[string]any)
	list, _ := ca["category"].([]any)
	for _, c := range list {
		if m, _ := c.(map[string]any); m != nil && m["id"] == id {
			return true
		}
	}
	return false
}
