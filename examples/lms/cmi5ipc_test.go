//go:build unix

package lms

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/oauth/bearer"
)

// A cmi5 AU launched with ipc-service reaches the LMS over IPC: the LMS,
// served by an httpipc.Server on a Unix socket behind its token check,
// launches it; the AU fetches its auth token over IPC, once, and sends
// statements and reads its State with the token; a second fetch, an
// unknown token and no token are refused.
func TestCmi5OverIPC(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "lms.db"), true)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	run, err := os.MkdirTemp("", "cmi5") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(run)
	service := "unix:" + filepath.Join(run, "lms.sock")
	// The math app's token (from the LMS's authorization server in the
	// app) launches; the cmi5 auth tokens are for the AU.
	apps := verifierFunc(func(tok string) (*bearer.Token, error) {
		if tok == "math-app" {
			return &bearer.Token{ClientID: "math", Subject: "u-learner-1", Scopes: []string{ScopeXAPI}}, nil
		}
		return nil, bearer.ErrInvalidToken
	})
	ln, err := httpipc.Listen(service)
	if err != nil {
		t.Fatal(err)
	}
	srv := &httpipc.Server{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Handler: db.Handler(Options{Auth: func(h http.Handler) http.Handler {
		return basicAsBearer(bearer.Require(cmi5Verifier{db, apps})(h))
	}})}
	go srv.Serve(ln)
	defer srv.Close()

	do := func(c *http.Client, method, u, auth, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, u, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Experience-API-Version", XAPIVersion)
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s over IPC: %v", method, u, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	// The launch, by the math app over IPC.
	app := httpipc.NewClient(service)
	code, body := do(app, "POST", "http://lms"+Cmi5LaunchPath, "Bearer math-app",
		`{"au":{"url":"https://au.example/lesson.html","activityId":"https://math.example/au/fractions","moveOn":"Completed"},`+
			`"actor":{"account":{"homePage":"https://lms.example","name":"s-1"}},"base":"http://lms","ipcService":"`+service+`"}`)
	var launch struct{ URL string }
	json.Unmarshal([]byte(body), &launch)
	lu, err := url.Parse(launch.URL)
	if code != 200 || err != nil {
		t.Fatalf("launch: %d %s", code, body)
	}
	q := lu.Query()
	if q.Get("ipc-service") != service || q.Get("endpoint") != "http://lms/xapi/" || !strings.HasPrefix(q.Get("fetch"), "http://lms"+Cmi5FetchPath) {
		t.Fatalf("launch URL %s", launch.URL)
	}
	endpoint, reg, actor, act := q.Get("endpoint"), q.Get("registration"), q.Get("actor"), q.Get("activityId")

	// The AU sends its requests where ipc-service says.
	au := httpipc.NewClient(q.Get("ipc-service"))
	code, body = do(au, "POST", q.Get("fetch"), "", "")
	var fetched map[string]string
	json.Unmarshal([]byte(body), &fetched)
	token := fetched["auth-token"]
	if code != 200 || token == "" {
		t.Fatalf("fetch over IPC: %d %s", code, body)
	}
	state := endpoint + "activities/state?" + url.Values{"activityId": {act}, "agent": {actor}, "registration": {reg}, "stateId": {Cmi5LaunchDataID}}.Encode()
	code, body = do(au, "GET", state, "Basic "+token, "")
	var ld struct {
		ContextTemplate struct{ Extensions map[string]any }
	}
	json.Unmarshal([]byte(body), &ld)
	session, _ := ld.ContextTemplate.Extensions[Cmi5SessionID].(string)
	if code != 200 || session == "" {
		t.Fatalf("LMS.LaunchData over IPC with the token: %d %s", code, body)
	}
	initialized := `{"actor":` + actor + `,"verb":{"id":"` + VerbInitialized + `"},"object":{"id":"` + act + `"},"context":{"registration":"` + reg + `",` +
		`"contextActivities":{"category":[{"id":"` + Cmi5Category + `"}]},"extensions":{"` + Cmi5SessionID + `":"` + session + `"}}}`
	if code, body = do(au, "POST", endpoint+"statements", "Basic "+token, initialized); code != 200 {
		t.Fatalf("initialized over IPC with the token: %d %s", code, body)
	}
	code, body = do(au, "GET", endpoint+"statements?"+url.Values{"registration": {reg}, "verb": {VerbInitialized}}.Encode(), "Bearer "+token, "")
	if code != 200 || !strings.Contains(body, session) {
		t.Errorf("the AU's statements over IPC: %d %s", code, body)
	}

	// Refused: a second fetch (the token is handed out once), an unknown
	// token, no token.
	code, body = do(au, "POST", q.Get("fetch"), "", "")
	var e map[string]string
	json.Unmarshal([]byte(body), &e)
	if code != 400 || e["error-code"] != "1" || strings.Contains(body, "auth-token") {
		t.Errorf("second fetch over IPC: %d %s", code, body)
	}
	for _, auth := range []string{"Basic " + token + "x", "Bearer not-a-token", ""} {
		if code, body := do(au, "GET", state, auth, ""); code != 401 {
			t.Errorf("LMS.LaunchData over IPC with Authorization %q: %d %s", auth, code, body)
		}
		if code, body := do(au, "POST", endpoint+"statements", auth, strings.Replace(initialized, VerbInitialized, VerbCompleted, 1)); code != 401 {
			t.Errorf("a statement over IPC with Authorization %q: %d %s", auth, code, body)
		}
	}
}
