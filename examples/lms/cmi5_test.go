package lms

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// postLaunch posts a launch request to the LMS's launch resource and
// returns the launch URL's parameters.
func postLaunch(t *testing.T, base, req string) url.Values {
	t.Helper()
	resp, body := callH(t, "POST", base+Cmi5LaunchPath, req, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("launch: %d %s", resp.StatusCode, body)
	}
	var out struct{ URL string }
	json.Unmarshal([]byte(body), &out)
	u, err := url.Parse(out.URL)
	if err != nil || !strings.HasPrefix(out.URL, "https://au.example/lesson.html?") {
		t.Fatalf("launch URL %q", out.URL)
	}
	return u.Query()
}

// launchAU launches a test AU with mastery score 0.8 and returns the
// launch URL's parameters.
func launchAU(t *testing.T, base string) url.Values {
	t.Helper()
	return postLaunch(t, base, `{"au":{"url":"https://au.example/lesson.html","activityId":"https://math.example/au/fractions","moveOn":"CompletedAndPassed","masteryScore":0.8,"returnURL":"https://lms.example/done"},`+
		`"actor":{"account":{"homePage":"https://lms.example","name":"s-1"},"name":"Ana"},"base":"`+base+`","ipcService":"org.example.lms"}`)
}

func TestCmi5Launch(t *testing.T) {
	_, ts := newTestServer(t, true)
	q := launchAU(t, ts.URL)
	for _, p := range []string{"endpoint", "fetch", "actor", "registration", "activityId", "ipc-service"} {
		if q.Get(p) == "" {
			t.Errorf("no %s in the launch URL: %v", p, q)
		}
	}
	if q.Get("endpoint") != ts.URL+"/xapi/" {
		t.Errorf("endpoint %q", q.Get("endpoint"))
	}
	reg, act, actor := q.Get("registration"), q.Get("activityId"), q.Get("actor")

	// Fetch, once.
	resp, body := callH(t, "POST", q.Get("fetch"), "", nil)
	var tok map[string]string
	json.Unmarshal([]byte(body), &tok)
	if resp.StatusCode != 200 || tok["auth-token"] == "" {
		t.Fatalf("fetch: %d %s", resp.StatusCode, body)
	}
	resp, body = callH(t, "POST", q.Get("fetch"), "", nil)
	var e map[string]string
	json.Unmarshal([]byte(body), &e)
	if resp.StatusCode != 400 || e["error-code"] != "1" || e["error-text"] == "" {
		t.Errorf("second fetch: %d %s", resp.StatusCode, body)
	}

	// LMS.LaunchData and the learner preferences.
	resp, body = callH(t, "GET", ts.URL+StatePath+"?"+url.Values{"activityId": {act}, "agent": {actor}, "registration": {reg}, "stateId": {Cmi5LaunchDataID}}.Encode(), "", nil)
	var ld struct {
		ContextTemplate               struct{ Extensions map[string]any }
		LaunchMode, MoveOn, ReturnURL string
		MasteryScore                  float64
	}
	json.Unmarshal([]byte(body), &ld)
	session, _ := ld.ContextTemplate.Extensions[Cmi5SessionID].(string)
	if resp.StatusCode != 200 || session == "" || ld.LaunchMode != "Normal" || ld.MoveOn != "CompletedAndPassed" || ld.MasteryScore != 0.8 || ld.ReturnURL != "https://lms.example/done" {
		t.Fatalf("LMS.LaunchData: %d %s", resp.StatusCode, body)
	}
	resp, body = callH(t, "GET", ts.URL+AgentProfilePath+"?"+url.Values{"agent": {actor}, "profileId": {Cmi5PreferencesID}}.Encode(), "", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `"languagePreference"`) || !strings.Contains(body, `"audioPreference"`) {
		t.Fatalf("learner preferences: %d %s", resp.StatusCode, body)
	}
	resp, body = callH(t, "GET", ts.URL+StatementsPath+"?"+url.Values{"registration": {reg}, "verb": {VerbLaunched}}.Encode(), "", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, session) {
		t.Fatalf("launched statement: %d %s", resp.StatusCode, body)
	}

	// The AU's statements, in order; each refusal leaves the session as it was.
	stmt := func(verb string, opts ...string) string {
		cat, sess, res := `"contextActivities":{"category":[{"id":"`+Cmi5Category+`"}]},`, session, ""
		for _, o := range opts {
			switch {
			case o == "nocat":
				cat = ""
			case o == "nosession":
				sess = "6b0e3b9e-0000-4000-8000-000000000000"
			default:
				res = `,"result":` + o
			}
		}
		return `{"actor":` + actor + `,"verb":{"id":"` + verb + `"},"object":{"id":"` + act + `"},` +
			`"context":{"registration":"` + reg + `",` + cat + `"extensions":{"` + Cmi5SessionID + `":"` + sess + `"}}` + res + `}`
	}
	for _, tt := range []struct {
		name, body string
		code       int
		want       string
	}{
		{"completed before initialized", stmt(VerbCompleted), 400, "must follow initialized"},
		{"initialized without the category (cmi5 allowed, so not first)", stmt(VerbInitialized, "nocat"), 400, "must follow initialized"},
		{"initialized in another session", stmt(VerbInitialized, "nosession"), 400, "session id"},
		{"initialized", stmt(VerbInitialized), 200, ""},
		{"initialized again", stmt(VerbInitialized), 400, "already initialized"},
		{"passed below the mastery score", stmt(VerbPassed, `{"score":{"scaled":0.5},"success":true}`), 400, "below the mastery score"},
		{"failed at the mastery score", stmt(VerbFailed, `{"score":{"scaled":0.9},"success":false}`), 400, "at or above"},
		{"passed", stmt(VerbPassed, `{"score":{"scaled":0.9},"success":true}`), 200, ""},
		{"passed again", stmt(VerbPassed, `{"score":{"scaled":1},"success":true}`), 400, "already has passed"},
		{"failed after passed", stmt(VerbFailed, `{"score":{"scaled":0.1},"success":false}`), 400, "already has passed"},
		{"completed", stmt(VerbCompleted, `{"completion":true}`), 200, ""},
		{"completed again", stmt(VerbCompleted, `{"completion":true}`), 400, "already has completed"},
		{"terminated", stmt(VerbTerminated), 200, ""},
		{"a statement after terminated", stmt(attempted), 400, "terminated"},
	} {
		resp, body := callH(t, "POST", ts.URL+StatementsPath, tt.body, nil)
		if resp.StatusCode != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %s; want %d %q", tt.name, resp.StatusCode, body, tt.code, tt.want)
		}
	}
}

// A statement of a registration the LMS did not launch is not checked.
func TestCmi5OtherRegistrations(t *testing.T) {
	_, ts := newTestServer(t, false)
	s := st("", "a@example.com", completed, lesson1, `"context":{"registration":"6b0e3b9e-0000-4000-8000-000000000001"}`)
	if resp, body := callH(t, "POST", ts.URL+StatementsPath, s, nil); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if resp, body := callH(t, "POST", ts.URL+Cmi5LaunchPath, `{"au":{"url":"rel","activityId":"x"},"actor":{}}`, nil); resp.StatusCode != 400 {
		t.Errorf("a bad launch request: %d %s", resp.StatusCode, body)
	}
}

// cmi5Env is a launched AU's session as a test sees it.
type cmi5Env struct {
	t                                      *testing.T
	base, reg, act, actor, session, course string
}

// launch launches the test AU (moveOn, launch mode) for registration
// reg (empty: a new one) in course, and reads its session id.
func launchFor(t *testing.T, base, reg, moveOn, mode string) cmi5Env {
	t.Helper()
	course := "https://math.example/course/fractions"
	req := `{"au":{"url":"https://au.example/lesson.html","activityId":"https://math.example/au/fractions","moveOn":"` + moveOn + `","launchMode":"` + mode + `"},` +
		`"actor":{"account":{"homePage":"https://lms.example","name":"s-1"}},"base":"` + base + `","registration":"` + reg + `","courseId":"` + course + `"}`
	q := postLaunch(t, base, req)
	e := cmi5Env{t: t, base: base, reg: q.Get("registration"), act: q.Get("activityId"), actor: q.Get("actor"), course: course}
	_, body := callH(t, "GET", base+StatePath+"?"+url.Values{"activityId": {e.act}, "agent": {e.actor}, "registration": {e.reg}, "stateId": {Cmi5LaunchDataID}}.Encode(), "", nil)
	var ld struct {
		ContextTemplate struct{ Extensions map[string]any }
	}
	json.Unmarshal([]byte(body), &ld)
	e.session, _ = ld.ContextTemplate.Extensions[Cmi5SessionID].(string)
	if e.session == "" {
		t.Fatalf("no session id in LMS.LaunchData: %s", body)
	}
	return e
}

// send posts a statement of the session: verb, defined (with the cmi5
// category) or allowed, with an optional result, and returns the status
// and body.
func (e cmi5Env) send(verb string, defined bool, result string) (int, string) {
	e.t.Helper()
	cat := ""
	if defined {
		cat = `"contextActivities":{"category":[{"id":"` + Cmi5Category + `"}]},`
	}
	s := `{"actor":` + e.actor + `,"verb":{"id":"` + verb + `"},"object":{"id":"` + e.act + `"},` +
		`"context":{"registration":"` + e.reg + `",` + cat + `"extensions":{"` + Cmi5SessionID + `":"` + e.session + `"}}`
	if result != "" {
		s += `,"result":` + result
	}
	resp, body := callH(e.t, "POST", e.base+StatementsPath, s+"}", nil)
	return resp.StatusCode, body
}

// verbs returns the verbs of the registration's statements about object,
// oldest first.
func (e cmi5Env) verbs(object string) []string {
	e.t.Helper()
	_, body := callH(e.t, "GET", e.base+StatementsPath+"?"+url.Values{"registration": {e.reg}, "activity": {object}, "ascending": {"true"}}.Encode(), "", nil)
	var res struct {
		Statements []struct {
			Verb    struct{ ID string }
			Context struct{ Extensions map[string]any }
			Result  struct{ Duration string }
		}
	}
	json.Unmarshal([]byte(body), &res)
	var out []string
	for _, s := range res.Statements {
		v := s.Verb.ID[strings.LastIndex(s.Verb.ID, "/")+1:]
		if s.Result.Duration != "" {
			v += "(" + s.Result.Duration[:2] + ")"
		}
		out = append(out, v)
	}
	return out
}

const (
	pass     = `{"score":{"scaled":0.9},"success":true}`
	complete = `{"completion":true}`
)

// TestCmi5Rules runs the cmi5 rules past the happy path: the LMS's own
// verbs, cmi5 allowed statements, launch modes, result properties, a
// relaunch abandoning the active session, the registration's rules across
// sessions, satisfied when moveOn is met, and waivers.
func TestCmi5Rules(t *testing.T) {
	db, ts := newTestServer(t, false)
	e := launchFor(t, ts.URL, "", "CompletedAndPassed", "Normal")
	steps := []struct {
		name    string
		verb    string
		defined bool
		result  string
		code    int
		want    string
	}{
		{"an allowed statement before initialized", attempted, false, "", 400, "must follow initialized"},
		{"initialized", VerbInitialized, true, "", 200, ""},
		{"the LMS's launched from the AU", VerbLaunched, true, "", 400, "issued by the LMS only"},
		{"the LMS's satisfied from the AU", VerbSatisfied, true, "", 400, "issued by the LMS only"},
		{"the LMS's waived from the AU", VerbWaived, true, "", 400, "issued by the LMS only"},
		{"an allowed completed, without the category", VerbCompleted, false, `{"completion":false}`, 200, ""},
		{"passed without success", VerbPassed, true, `{"score":{"scaled":0.9}}`, 400, "needs result.success true"},
		{"failed with success true", VerbFailed, true, `{"success":true}`, 400, "needs result.success false"},
		{"completed without completion", VerbCompleted, true, "", 400, "needs result.completion true"},
		{"completed with success", VerbCompleted, true, `{"completion":true,"success":true}`, 400, "only passed and failed carry result.success"},
		{"failed", VerbFailed, true, `{"success":false}`, 200, ""},
		{"passed after failed in the session", VerbPassed, true, pass, 400, "already has failed"},
		{"completed", VerbCompleted, true, complete, 200, ""},
	}
	run := func(e cmi5Env, steps []struct {
		name    string
		verb    string
		defined bool
		result  string
		code    int
		want    string
	}) {
		t.Helper()
		for _, s := range steps {
			code, body := e.send(s.verb, s.defined, s.result)
			if code != s.code || !strings.Contains(body, s.want) {
				t.Errorf("%s: %d %s; want %d %q", s.name, code, body, s.code, s.want)
			}
		}
	}
	run(e, steps)
	if v := e.verbs(e.course); len(v) != 0 {
		t.Errorf("satisfied before moveOn (CompletedAndPassed) is met: %v", v)
	}

	// A relaunch in the same registration abandons the active session.
	e2 := launchFor(t, ts.URL, e.reg, "CompletedAndPassed", "Normal")
	if code, body := e.send(attempted, false, ""); code != 400 || !strings.Contains(body, "is abandoned") {
		t.Errorf("a statement of the abandoned session: %d %s", code, body)
	}
	run(e2, steps[1:2]) // initialized
	for _, s := range []struct {
		verb, result, want string
		code               int
	}{
		{VerbCompleted, complete, "registration " + e.reg + " is already completed", 400},
		{VerbPassed, `{"score":{"scaled":0.5},"success":true}`, "below the mastery score", 200}, // no mastery score in this launch
		{VerbTerminated, "", "", 200},
	} {
		code, body := e2.send(s.verb, true, s.result)
		if s.code == 200 && code != 200 || s.code != 200 && (code != s.code || !strings.Contains(body, s.want)) {
			t.Errorf("second session, %s: %d %s", s.verb, code, body)
		}
	}
	want := []string{"launched", "initialized", "completed", "failed", "completed", "abandoned(PT)", "launched", "initialized", "passed", "terminated"}
	if got := e.verbs(e.act); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("the AU's statements: %v\nwant %v", got, want)
	}
	if got := e.verbs(e.course); strings.Join(got, " ") != "satisfied" {
		t.Errorf("the course's statements once passed and completed: %v, want one satisfied", got)
	}

	// Browse mode: only initialized and terminated.
	b := launchFor(t, ts.URL, "", "Passed", "Browse")
	run(b, []struct {
		name    string
		verb    string
		defined bool
		result  string
		code    int
		want    string
	}{
		{"initialized", VerbInitialized, true, "", 200, ""},
		{"passed in Browse mode", VerbPassed, true, pass, 400, "Browse mode"},
		{"an allowed statement in Browse mode", attempted, false, "", 200, ""},
		{"terminated", VerbTerminated, true, "", 200, ""},
	})

	// CompletedAndPassed needs both, in either order; CompletedOrPassed
	// either.
	for _, tt := range []struct {
		moveOn      string
		first, then string
	}{
		{"CompletedAndPassed", VerbPassed, VerbCompleted},
		{"CompletedAndPassed", VerbCompleted, VerbPassed},
		{"CompletedOrPassed", VerbCompleted, ""},
		{"CompletedOrPassed", VerbPassed, ""},
		{"Passed", VerbPassed, ""},
		{"Completed", VerbCompleted, ""},
		{"Passed", VerbCompleted, VerbPassed},
		{"Completed", VerbPassed, VerbCompleted},
	} {
		m := launchFor(t, ts.URL, "", tt.moveOn, "Normal")
		m.send(VerbInitialized, true, "")
		result := map[string]string{VerbPassed: pass, VerbCompleted: complete}
		if code, body := m.send(tt.first, true, result[tt.first]); code != 200 {
			t.Fatalf("%s: %d %s", tt.moveOn, code, body)
		}
		got := strings.Join(m.verbs(m.course), " ")
		if tt.then == "" {
			if got != "satisfied" {
				t.Errorf("%s after %s: the course's statements %q, want satisfied", tt.moveOn, tt.first, got)
			}
			continue
		}
		if got != "" {
			t.Errorf("%s after %s only: the course's statements %q, want none", tt.moveOn, tt.first, got)
		}
		m.send(tt.then, true, result[tt.then])
		if got := strings.Join(m.verbs(m.course), " "); got != "satisfied" {
			t.Errorf("%s after %s and %s: the course's statements %q, want satisfied", tt.moveOn, tt.first, tt.then, got)
		}
	}

	// NotApplicable: satisfied at launch.
	na := launchFor(t, ts.URL, "", "NotApplicable", "Normal")
	if got := na.verbs(na.course); strings.Join(got, " ") != "satisfied" {
		t.Errorf("NotApplicable: the course's statements after launch: %v", got)
	}

	// A waiver: waived in a session of its own, then satisfied; once.
	w := launchFor(t, ts.URL, "", "Passed", "Normal")
	var actor map[string]any
	json.Unmarshal([]byte(w.actor), &actor)
	waive := Cmi5WaiveRequest{Actor: actor, Registration: w.reg, ActivityID: w.act, Reason: "Tested", CourseID: w.course}
	if err := db.WaiveAU(t.Context(), waive); err != nil {
		t.Fatal(err)
	}
	if err := db.WaiveAU(t.Context(), waive); err == nil {
		t.Error("a second waiver of the AU in the registration was recorded")
	}
	waive.Reason = "Because"
	if err := db.WaiveAU(t.Context(), waive); err == nil || !strings.Contains(err.Error(), "reason") {
		t.Errorf("a waiver with an unknown reason: %v", err)
	}
	if got := w.verbs(w.act); strings.Join(got, " ") != "launched waived" {
		t.Errorf("after the waiver, the AU's statements: %v", got)
	}
	if got := w.verbs(w.course); strings.Join(got, " ") != "satisfied" {
		t.Errorf("after the waiver, the course's statements: %v", got)
	}
}

// cmi5: the LMS must not give an AU credentials that can void statements.
// A voiding statement sent with an AU's auth token, as Basic (the way AUs
// send it) or Bearer, in a POST or a PUT, is refused; the same statement
// with other credentials is not.
func TestCmi5AUCannotVoid(t *testing.T) {
	_, ts := newTestServer(t, false)
	q := launchAU(t, ts.URL)
	resp, body := callH(t, "POST", q.Get("fetch"), "", nil)
	var tok map[string]string
	json.Unmarshal([]byte(body), &tok)
	if resp.StatusCode != 200 || tok["auth-token"] == "" {
		t.Fatalf("fetch: %d %s", resp.StatusCode, body)
	}
	target := NewStatementID()
	if resp, body := callH(t, "POST", ts.URL+StatementsPath, st(target, "a@example.com", completed, lesson1), nil); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	voiding := func(id string) string {
		return st(id, "a@example.com", VerbVoided, `{"objectType":"StatementRef","id":"`+target+`"}`)
	}
	for _, tt := range []struct {
		name, method, auth string
		code               int
	}{
		{"POST, the AU's token as Basic", "POST", "Basic " + tok["auth-token"], 403},
		{"POST, the AU's token as Bearer", "POST", "Bearer " + tok["auth-token"], 403},
		{"PUT, the AU's token as Basic", "PUT", "Basic " + tok["auth-token"], 403},
		{"POST, another token", "POST", "Bearer not-an-au-token", 200},
	} {
		id := NewStatementID()
		u := ts.URL + StatementsPath
		if tt.method == "PUT" {
			u += "?statementId=" + id
		}
		resp, body := callH(t, tt.method, u, voiding(id), map[string]string{"Authorization": tt.auth})
		if resp.StatusCode != tt.code && !(tt.code == 200 && resp.StatusCode == 204) {
			t.Errorf("%s: %d %s, want %d", tt.name, resp.StatusCode, body, tt.code)
		}
		if tt.code == 403 && !strings.Contains(body, "cannot void") {
			t.Errorf("%s: %q", tt.name, body)
		}
	}
}

// An AU's auth token works until Cmi5TokenTTL after its fetch, and no
// longer once a relaunch abandoned its session.
func TestCmi5TokenLifetime(t *testing.T) {
	db, ts := newTestServer(t, false)
	fetch := func(q url.Values) string {
		t.Helper()
		resp, body := callH(t, "POST", q.Get("fetch"), "", nil)
		var tok map[string]string
		json.Unmarshal([]byte(body), &tok)
		if resp.StatusCode != 200 || tok["auth-token"] == "" {
			t.Fatalf("fetch: %d %s", resp.StatusCode, body)
		}
		return tok["auth-token"]
	}
	q := launchAU(t, ts.URL)
	tok := fetch(q)
	if _, ok := db.Cmi5Token(t.Context(), tok); !ok {
		t.Fatal("a fresh token does not work")
	}
	// Past its lifetime.
	if _, err := db.db.Exec(`UPDATE cmi5_sessions SET expires = ? WHERE used = 1`, time.Now().Add(-time.Second).Unix()); err != nil {
		t.Fatal(err)
	}
	if _, ok := db.Cmi5Token(t.Context(), tok); ok {
		t.Error("a token past Cmi5TokenTTL works")
	}

	// Abandoned by a relaunch of the registration.
	e := launchFor(t, ts.URL, "", "Passed", "Normal")
	lq := postLaunch(t, ts.URL, `{"au":{"url":"https://au.example/lesson.html","activityId":"`+e.act+`","moveOn":"Passed"},"actor":`+e.actor+`,"base":"`+ts.URL+`","registration":"`+e.reg+`"}`)
	tok = fetch(lq)
	launchFor(t, ts.URL, e.reg, "Passed", "Normal") // abandons the session of tok
	if _, ok := db.Cmi5Token(t.Context(), tok); ok {
		t.Error("the token of an abandoned session works")
	}
}
