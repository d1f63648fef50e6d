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
}

const cmi5Schema = `
CREATE TABLE IF NOT EXISTS cmi5_sessions (fetch TEXT PRIMARY KEY, token TEXT NOT NULL, session TEXT UNIQUE NOT NULL, registration TEXT NOT NULL, activityId TEXT NOT NULL, actor TEXT NOT NULL, mastery REAL, used INTEGER NOT NULL DEFAULT 0, expires INTEGER NOT NULL);
`

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
	if _, err := tx.Exec(`INSERT INTO cmi5_sessions (fetch, token, session, registration, activityId, actor, mastery, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		hashHex(fetchID), hashHex(token), session, reg, au.ActivityID, string(actorJSON), mastery, time.Now().Add(Cmi5FetchTTL).Unix()); err != nil {
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
	ext := map[string]any{Cmi5SessionID: session}
	if au.MasteryScore != nil {
		ext[Cmi5MasteryScore] = *au.MasteryScore
	}
	launched := map[string]any{
		"actor":  req.Actor,
		"verb":   map[string]any{"id": VerbLaunched, "display": map[string]any{"en-US": "launched"}},
		"object": map[string]any{"objectType": "Activity", "id": au.ActivityID},
		"context": map[string]any{
			"registration": reg,
			"extensions": map[string]any{Cmi5SessionID: session, "https://w3id.org/xapi/cmi5/context/extensions/launchmode": mode,
				"https://w3id.org/xapi/cmi5/context/extensions/moveon": moveOn, "https://w3id.org/xapi/cmi5/context/extensions/launchurl": au.URL},
			"contextActivities": map[string]any{"category": []any{map[string]any{"id": Cmi5Category}}},
		},
	}
	if _, err := d.storeStatements(ctx, []map[string]any{launched}, nil); err != nil {
		return "", err
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
	err := d.db.QueryRowContext(r.Context(), `UPDATE cmi5_sessions SET used = 1, token = ? WHERE fetch = ? AND used = 0 AND expires >= ? RETURNING session`,
		hashHex(token), hashHex(r.PathValue("id")), time.Now().Unix()).Scan(&session)
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
// and the actor it is for.
func (d *DB) Cmi5Token(ctx context.Context, tok string) (actor string, ok bool) {
	err := d.db.QueryRowContext(ctx, `SELECT actor FROM cmi5_sessions WHERE token = ? AND used = 1`, hashHex(tok)).Scan(&actor)
	return actor, err == nil
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

// cmi5Verbs are the cmi5 defined verbs an AU may send.
var cmi5Verbs = map[string]bool{VerbInitialized: true, VerbCompleted: true, VerbPassed: true, VerbFailed: true, VerbTerminated: true}

// checkCmi5 refuses the statements of a registration this LMS launched
// that break the cmi5 rules cheap to check: none in a session before
// initialized or after terminated, one passed and one completed per
// registration, passed at or above the mastery score (failed below it),
// and the cmi5 category and session id on every defined statement.
func (d *DB) checkCmi5(tx *sql.Tx, stmts []map[string]any) error {
	// What earlier statements of the batch did.
	seen := map[string]bool{}
	for i, s := range stmts {
		ctx, _ := s["context"].(map[string]any)
		reg, _ := ctx["registration"].(string)
		reg = strings.ToLower(reg)
		if reg == "" {
			continue
		}
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM cmi5_sessions WHERE registration = ?`, reg).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			continue
		}
		if id, _ := s["id"].(string); id != "" {
			if err := tx.QueryRow(`SELECT COUNT(*) FROM statements WHERE id = ?`, strings.ToLower(id)).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				continue // a retry: storeStatements compares it
			}
		}
		verb, _ := s["verb"].(map[string]any)
		v, _ := verb["id"].(string)
		if v == VerbLaunched || v == VerbAbandoned || v == VerbWaived || v == VerbSatisfied {
			continue // the LMS's own verbs
		}
		ext, _ := ctx["extensions"].(map[string]any)
		session, _ := ext[Cmi5SessionID].(string)
		var mastery sql.NullFloat64
		err := tx.QueryRow(`SELECT mastery FROM cmi5_sessions WHERE session = ? AND registration = ?`, session, reg).Scan(&mastery)
		if errors.Is(err, sql.ErrNoRows) {
			return bad("statement %d: cmi5: the context needs the session id extension of a session of registration %s", i, reg)
		}
		if err != nil {
			return err
		}
		has := func(key, verb string) (bool, error) {
			if seen[key+verb] {
				return true, nil
			}
			var n int
			err := tx.QueryRow(`SELECT COUNT(*) FROM statements WHERE voided = 0 AND json_extract(body, '$.verb.id') = ? AND `+
				`(json_extract(body, '$.context.extensions."`+Cmi5SessionID+`"') = ? OR json_extract(body, '$.context.registration') = ?)`,
				verb, key, key).Scan(&n)
			return n > 0, err
		}
		term, err := has(session, VerbTerminated)
		if err != nil {
			return err
		}
		if term {
			return bad("statement %d: cmi5: session %s is terminated", i, session)
		}
		init, err := has(session, VerbInitialized)
		if err != nil {
			return err
		}
		switch {
		case v == VerbInitialized && init:
			return bad("statement %d: cmi5: session %s is already initialized", i, session)
		case v != VerbInitialized && !init:
			return bad("statement %d: cmi5: statements of session %s must follow initialized", i, session)
		}
		if cmi5Verbs[v] && !hasCategory(ctx, Cmi5Category) {
			return bad("statement %d: cmi5: a cmi5 defined statement needs the category %s", i, Cmi5Category)
		}
		if v == VerbPassed || v == VerbCompleted || v == VerbFailed {
			for _, w := range []string{VerbPassed, VerbCompleted} {
				if v == w || v == VerbFailed && w == VerbPassed {
					done, err := has(reg, w)
					if err != nil {
						return err
					}
					if done {
						return bad("statement %d: cmi5: registration %s is already %s", i, reg, w[strings.LastIndex(w, "/")+1:])
					}
				}
			}
		}
		if (v == VerbPassed || v == VerbFailed) && mastery.Valid {
			res, _ := s["result"].(map[string]any)
			score, _ := res["score"].(map[string]any)
			scaled, ok := score["scaled"].(float64)
			switch {
			case v == VerbPassed && ok && scaled < mastery.Float64:
				return bad("statement %d: cmi5: passed with scaled score %v, below the mastery score %v", i, scaled, mastery.Float64)
			case v == VerbFailed && ok && scaled >= mastery.Float64:
				return bad("statement %d: cmi5: failed with scaled score %v, at or above the mastery score %v", i, scaled, mastery.Float64)
			}
		}
		seen[session+v] = true
		seen[reg+v] = true
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
