package lms

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// launchAU launches a test AU with mastery score 0.8 over the LMS's
// launch resource and returns the launch URL's parameters.
func launchAU(t *testing.T, base string) url.Values {
	t.Helper()
	req := `{"au":{"url":"https://au.example/lesson.html","activityId":"https://math.example/au/fractions","moveOn":"CompletedAndPassed","masteryScore":0.8,"returnURL":"https://lms.example/done"},` +
		`"actor":{"account":{"homePage":"https://lms.example","name":"s-1"},"name":"Ana"},"base":"` + base + `","ipcService":"org.example.lms"}`
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
		{"initialized without the category", stmt(VerbInitialized, "nocat"), 400, "category"},
		{"initialized in another session", stmt(VerbInitialized, "nosession"), 400, "session id"},
		{"initialized", stmt(VerbInitialized), 200, ""},
		{"initialized again", stmt(VerbInitialized), 400, "already initialized"},
		{"passed below the mastery score", stmt(VerbPassed, `{"score":{"scaled":0.5},"success":true}`), 400, "below the mastery score"},
		{"failed at the mastery score", stmt(VerbFailed, `{"score":{"scaled":0.9},"success":false}`), 400, "at or above"},
		{"passed", stmt(VerbPassed, `{"score":{"scaled":0.9},"success":true}`), 200, ""},
		{"passed again", stmt(VerbPassed, `{"score":{"scaled":1},"success":true}`), 400, "already passed"},
		{"failed after passed", stmt(VerbFailed, `{"score":{"scaled":0.1},"success":false}`), 400, "already passed"},
		{"completed", stmt(VerbCompleted, `{"completion":true}`), 200, ""},
		{"completed again", stmt(VerbCompleted, `{"completion":true}`), 400, "already completed"},
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
