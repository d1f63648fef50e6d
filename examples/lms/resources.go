package lms

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// The Agents Resource (/xapi/agents: the Person object of an Agent) and
// the Activities Resource (/xapi/activities: an Activity with its
// canonical definition). The LRS keeps an activity's definition as the
// merge of the definitions the statements it stored carried: language
// maps gain the languages they bring, other properties take the latest
// value.

// Paths of the resources.
const (
	AgentsPath     = "/xapi/agents"
	ActivitiesPath = "/xapi/activities"
)

const activitiesSchema = `
CREATE TABLE IF NOT EXISTS activities (id TEXT PRIMARY KEY, definition TEXT NOT NULL);
`

// onlyGet refuses methods other than GET and HEAD, and parameters other
// than the one named, answering for itself; it returns the parameter.
func onlyGet(w http.ResponseWriter, r *http.Request, param string) (string, bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return "", false
	}
	q := r.URL.Query()
	for k, v := range q {
		if k != param {
			http.Error(w, fmt.Sprintf("%s takes only %s, not %q", r.URL.Path, param, k), http.StatusBadRequest)
			return "", false
		}
		if len(v) > 1 {
			http.Error(w, fmt.Sprintf("parameter %q given twice", k), http.StatusBadRequest)
			return "", false
		}
	}
	v := q.Get(param)
	if v == "" {
		http.Error(w, fmt.Sprintf("%s needs %s", r.URL.Path, param), http.StatusBadRequest)
		return "", false
	}
	return v, true
}

// agents serves the Agents Resource. The LRS knows of no other identities
// of a person, so the Person holds the identifier (and name) of the Agent
// asked about.
func (d *DB) agents(w http.ResponseWriter, r *http.Request) {
	param, ok := onlyGet(w, r, "agent")
	if !ok {
		return
	}
	var a map[string]any
	if err := json.Unmarshal([]byte(param), &a); err != nil {
		http.Error(w, "agent is not a JSON object", http.StatusBadRequest)
		return
	}
	if _, err := agentKey(a, "agent", false); err != nil {
		statementError(w, err)
		return
	}
	p := map[string]any{"objectType": "Person"}
	if n, ok := a["name"]; ok {
		p["name"] = []any{n}
	}
	for _, k := range []string{"mbox", "mbox_sha1sum", "openid", "account"} {
		if v, ok := a[k]; ok {
			p[k] = []any{v}
		}
	}
	writeJSON(w, http.StatusOK, p)
}

// activities serves the Activities Resource.
func (d *DB) activities(w http.ResponseWriter, r *http.Request) {
	id, ok := onlyGet(w, r, "activityId")
	if !ok {
		return
	}
	if !isIRI(id) {
		http.Error(w, "activityId must be an IRI", http.StatusBadRequest)
		return
	}
	out := map[string]any{"objectType": "Activity", "id": id}
	var def string
	err := d.db.QueryRowContext(r.Context(), `SELECT definition FROM activities WHERE id = ?`, id).Scan(&def)
	switch {
	case err == nil:
		var m map[string]any
		if json.Unmarshal([]byte(def), &m) == nil && len(m) > 0 {
			out["definition"] = m
		}
	case !errors.Is(err, sql.ErrNoRows):
		statementError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// statementActivities calls f with each Activity of s that has a
// definition: the object, the context activities, and a SubStatement's.
func statementActivities(s map[string]any, f func(id string, def map[string]any) error) error {
	visit := func(v any) error {
		a, _ := v.(map[string]any)
		if a == nil || a["objectType"] != nil && a["objectType"] != "Activity" {
			return nil
		}
		id, _ := a["id"].(string)
		def, _ := a["definition"].(map[string]any)
		if id == "" || def == nil {
			return nil
		}
		return f(id, def)
	}
	obj, _ := s["object"].(map[string]any)
	if err := visit(obj); err != nil {
		return err
	}
	if err := contextActivities(s, visit); err != nil {
		return err
	}
	if obj != nil && obj["objectType"] == "SubStatement" {
		return statementActivities(obj, f)
	}
	return nil
}

// contextActivities calls f with each of s's context activities (a list
// or, as xAPI 1.0.0 allowed, a single one per kind) until f fails.
func contextActivities(s map[string]any, f func(a any) error) error {
	c, _ := s["context"].(map[string]any)
	ca, _ := c["contextActivities"].(map[string]any)
	for _, x := range ca {
		list, ok := x.([]any)
		if !ok {
			list = []any{x}
		}
		for _, a := range list {
			if err := f(a); err != nil {
				return err
			}
		}
	}
	return nil
}

// mergeDefinition merges the definition def into old: language maps gain
// def's languages, other properties take def's value.
func mergeDefinition(old, def map[string]any) map[string]any {
	out := make(map[string]any, len(old)+len(def))
	for k, v := range old {
		out[k] = v
	}
	for k, v := range def {
		om, _ := out[k].(map[string]any)
		nm, _ := v.(map[string]any)
		if (k == "name" || k == "description") && om != nil && nm != nil {
			m := make(map[string]any, len(om)+len(nm))
			for l, s := range om {
				m[l] = s
			}
			for l, s := range nm {
				m[l] = s
			}
			v = m
		}
		out[k] = v
	}
	return out
}

// recordActivities merges the activity definitions of s into the
// activities table, in tx.
func recordActivities(tx *sql.Tx, s map[string]any) error {
	return statementActivities(s, func(id string, def map[string]any) error {
		var old string
		err := tx.QueryRow(`SELECT definition FROM activities WHERE id = ?`, id).Scan(&old)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var om map[string]any
		json.Unmarshal([]byte(old), &om)
		b, _ := json.Marshal(mergeDefinition(om, def))
		_, err = tx.Exec(`INSERT OR REPLACE INTO activities (id, definition) VALUES (?, ?)`, id, string(b))
		return err
	})
}

// publicAbout lets GET /xapi/about through without credentials: it tells
// a client which versions the LRS speaks before it has any.
func publicAbout(d *DB, guarded http.Handler) http.Handler {
	about := xapiHeaders(d.about, false)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.TrimSuffix(r.URL.Path, "/") == AboutPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			about(w, r)
			return
		}
		guarded.ServeHTTP(w, r)
	})
}
