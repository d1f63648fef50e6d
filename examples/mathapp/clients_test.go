//go:build linux

package mathapp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/examples/lms"
	"github.com/httpipc/httpipc/proxy"
)

// Client libraries nobody here wrote, against the LMS through the math
// app's localhost proxy: @xapi/cmi5 (a cmi5 assignable unit in headless
// Chromium) and @xapi/xapi (an xAPI client in Node). Their versions are
// pinned by testdata/xapi-clients/package-lock.json; npm installs them
// there on first use.

// clientsDir holds the libraries' package.json, lock file and the scripts
// and pages that use them.
const clientsDir = "testdata/xapi-clients"

var (
	installOnce sync.Once
	installErr  error
)

// need returns the path of a program a test needs. Missing, it skips the
// test, or fails it when HTTPIPC_REQUIRE_CLIENTS is set (as CI does).
func need(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("HTTPIPC_REQUIRE_CLIENTS") != "" {
			t.Fatalf("%s is not installed", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

// clientLibs installs the JavaScript libraries of clientsDir with npm ci,
// unless node_modules already holds what the lock file names, and returns
// node's path.
func clientLibs(t *testing.T) string {
	t.Helper()
	node, npm := need(t, "node"), need(t, "npm")
	installOnce.Do(func() {
		lock, err := os.ReadFile(filepath.Join(clientsDir, "package-lock.json"))
		if err != nil {
			installErr = err
			return
		}
		sum := sha256.Sum256(lock)
		stamp := filepath.Join(clientsDir, "node_modules", ".httpipc-lock-sha256")
		if b, err := os.ReadFile(stamp); err == nil && string(b) == hex.EncodeToString(sum[:]) {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = clientsDir
		if out, err := cmd.CombinedOutput(); err != nil {
			installErr = &installError{err, out}
			return
		}
		installErr = os.WriteFile(stamp, []byte(hex.EncodeToString(sum[:])), 0o644)
	})
	if installErr != nil {
		t.Fatalf("installing the client libraries: %v", installErr)
	}
	return node
}

type installError struct {
	err error
	out []byte
}

func (e *installError) Error() string { return "npm ci: " + e.err.Error() + "\n" + string(e.out) }

// lmsGet reads an LMS resource over IPC with the app's session and decodes
// its JSON body into out (when not nil); it returns the status and headers.
func lmsGet(t *testing.T, app *App, path string, out any) (int, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", app.API+path, nil)
	req.Header.Set("X-Experience-API-Version", xapiVersion)
	resp, err := app.Session.Client(context.Background()).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, b)
		}
	}
	return resp.StatusCode, resp.Header
}

// accessToken is the app's current OAuth access token.
func accessToken(t *testing.T, app *App) string {
	t.Helper()
	tok, err := app.Session.Client(context.Background()).Transport.(*oauth2.Transport).Source.Token()
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// statement is the part of a stored xAPI statement the tests check.
type statement struct {
	ID    string `json:"id"`
	Actor struct {
		Account struct{ HomePage, Name string }
	} `json:"actor"`
	Verb   struct{ ID string } `json:"verb"`
	Object struct {
		ObjectType string `json:"objectType"`
		ID         string `json:"id"`
	} `json:"object"`
	Result *struct {
		Score      struct{ Scaled float64 }
		Success    *bool
		Completion *bool
		Duration   string
	} `json:"result"`
	Context struct {
		Registration      string
		Extensions        map[string]any
		ContextActivities struct{ Category []struct{ ID string } } `json:"contextActivities"`
	} `json:"context"`
}

func (s statement) categories() []string {
	var ids []string
	for _, c := range s.Context.ContextActivities.Category {
		ids = append(ids, c.ID)
	}
	return ids
}

// A full cmi5 launch with @xapi/cmi5 in headless Chromium. The LMS
// launches the AU: its URL is a one-time launch URL of the math app's
// localhost proxy, the page is served next to the proxy as the math app
// serves its lesson, and endpoint and fetch are the proxy's base URL, so
// every request of the library reaches the LMS over IPC. The library
// fetches its auth token, reads LMS.LaunchData and the learner preferences
// and sends initialized, passed, completed and terminated; on the way it
// tries to void its passed statement and, after terminated, to send one
// more, both of which the LMS must refuse. The test then checks on the LMS
// what it stored (with the LMS's own launched, and satisfied for the
// course once the AU's moveOn is met), and that the fetch URL no longer
// works.
func TestCmi5AUInChromium(t *testing.T) {
	chromium := need(t, "chromium")
	clientLibs(t)
	d, sock := startLMS(t)
	app, _ := loggedIn(t, d, sock, io.Discard)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The math app's web view server: the AU's files and, for every other
	// path, the proxy to the LMS; both behind the proxy's browser session.
	px := &proxy.Proxy{Transport: &httpipc.Transport{Service: "unix:" + sock, Logger: quiet()}, Logger: quiet(), BrowserSessions: true}
	ln, err := proxy.Listen("")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /au/cmi5.js", px.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(clientsDir, "node_modules/@xapi/cmi5/dist/Cmi5.umd.js"))
	})))
	mux.Handle("GET /au/", px.Guard(http.StripPrefix("/au/", http.FileServer(http.Dir(filepath.Join(clientsDir, "au"))))))
	mux.Handle("/", px)
	srv := &http.Server{Handler: mux, ConnContext: proxy.ConnContext}
	go srv.Serve(ln)
	defer srv.Close()
	base := px.BaseURL(ln.Addr())
	auURL, err := px.LaunchURL(ln.Addr(), "/au/index.html")
	if err != nil {
		t.Fatal(err)
	}

	// The LMS launches the AU (over IPC, with the app's token).
	mastery := 0.8
	const activity = "https://math.example/au/fractions-quiz"
	const course = "https://math.example/course/fractions"
	launch, _ := json.Marshal(lms.Cmi5LaunchRequest{
		AU:    lms.AU{URL: auURL, ActivityID: activity, MoveOn: "CompletedAndPassed", MasteryScore: &mastery},
		Actor: map[string]any{"account": map[string]any{"homePage": "https://lms.example", "name": "u-learner-1"}, "name": "Learner One"},
		Base:  base, IPCService: "org.httpipc.test.lms", Language: "fr-CA", AudioPreference: "off",
		CourseID: course,
	})
	req, _ := http.NewRequestWithContext(ctx, "POST", app.API+lms.Cmi5LaunchPath, bytes.NewReader(launch))
	req.Header.Set("Content-Type", "application/json")
	resp, err := app.Session.Client(ctx).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var launched struct{ URL string }
	json.NewDecoder(resp.Body).Decode(&launched)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("launch: %s", resp.Status)
	}
	lu, err := url.Parse(launched.URL)
	if err != nil {
		t.Fatal(err)
	}
	params := lu.Query()
	if params.Get("endpoint") != base+"/xapi/" || params.Get("fetch") == "" {
		t.Fatalf("launch URL %s: endpoint and fetch not through the proxy %s", launched.URL, base)
	}

	// The browser opens the launch URL; the page runs the session.
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.Flag("headless", true), chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()))...)
	defer cancelAlloc()
	browser, closeBrowser := chromedp.NewContext(alloc)
	defer closeBrowser()
	if err := chromedp.Do(browser, chromedp.Navigate(launched.URL)); err != nil {
		t.Fatal(err)
	}
	out, err := chromedp.Run(browser, chromedp.Evaluate[string]("window.auResult", chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("the AU: %v", err)
	}
	var au struct {
		LaunchParameters struct {
			Endpoint, Registration, ActivityID string
			Actor                              map[string]any
		}
		IPCService string
		LaunchData struct {
			ContextTemplate struct{ Extensions map[string]any }
			LaunchMode      string
			MoveOn          string
			MasteryScore    float64
		}
		LearnerPreferences        map[string]string
		IDs                       struct{ Initialized, Passed, Completed, Terminated string }
		VoidByAU, AfterTerminated struct {
			Status int
			Body   string
		}
	}
	if err := json.Unmarshal([]byte(out), &au); err != nil {
		t.Fatalf("%v: %s", err, out)
	}

	// What the library read from the launch.
	reg := params.Get("registration")
	session, _ := au.LaunchData.ContextTemplate.Extensions[lms.Cmi5SessionID].(string)
	switch {
	case au.LaunchParameters.Registration != reg || au.LaunchParameters.ActivityID != activity || au.LaunchParameters.Endpoint != base+"/xapi/":
		t.Errorf("launch parameters %+v", au.LaunchParameters)
	case au.IPCService != "org.httpipc.test.lms":
		t.Errorf("ipc-service %q", au.IPCService)
	case session == "" || au.LaunchData.LaunchMode != "Normal" || au.LaunchData.MoveOn != "CompletedAndPassed" || au.LaunchData.MasteryScore != 0.8:
		t.Errorf("LMS.LaunchData %+v", au.LaunchData)
	case au.LearnerPreferences["languagePreference"] != "fr-CA" || au.LearnerPreferences["audioPreference"] != "off":
		t.Errorf("learner preferences %v", au.LearnerPreferences)
	case au.VoidByAU.Status != 403:
		t.Errorf("the AU voiding its passed statement: %+v", au.VoidByAU)
	case au.AfterTerminated.Status != 400:
		t.Errorf("a statement after terminated: %+v", au.AfterTerminated)
	}

	// The fetch URL worked once: the library's use was the only one. (Asked
	// over IPC: the proxy admits only the browser that opened the launch.)
	fu, _ := url.Parse(params.Get("fetch"))
	req, _ = http.NewRequestWithContext(ctx, "POST", app.API+fu.Path, nil)
	resp, err = app.Session.Client(ctx).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var fetchErr map[string]string
	json.NewDecoder(resp.Body).Decode(&fetchErr)
	resp.Body.Close()
	if resp.StatusCode != 400 || fetchErr["error-code"] != "1" {
		t.Errorf("a second fetch: %d %v", resp.StatusCode, fetchErr)
	}

	// The LMS's record of the registration, in order.
	var got struct{ Statements []statement }
	if code, _ := lmsGet(t, app, lms.StatementsPath+"?"+url.Values{"registration": {reg}, "ascending": {"true"}}.Encode(), &got); code != 200 {
		t.Fatalf("statements of the registration: %d", code)
	}
	// The LMS records satisfied for the course in the batch that met the
	// AU's moveOn (CompletedAndPassed): completed's.
	want := []struct {
		verb, id, object string
		categories       []string
	}{
		{lms.VerbLaunched, "", activity, []string{lms.Cmi5Category}},
		{lms.VerbInitialized, au.IDs.Initialized, activity, []string{lms.Cmi5Category}},
		{lms.VerbPassed, au.IDs.Passed, activity, []string{lms.Cmi5Category, "https://w3id.org/xapi/cmi5/context/categories/moveon"}},
		{lms.VerbCompleted, au.IDs.Completed, activity, []string{lms.Cmi5Category, "https://w3id.org/xapi/cmi5/context/categories/moveon"}},
		{lms.VerbSatisfied, "", course, []string{lms.Cmi5Category}},
		{lms.VerbTerminated, au.IDs.Terminated, activity, []string{lms.Cmi5Category}},
	}
	if len(got.Statements) != len(want) {
		t.Fatalf("%d statements stored for the registration, want %d: %+v", len(got.Statements), len(want), got.Statements)
	}
	for i, w := range want {
		s := got.Statements[i]
		if s.Verb.ID != w.verb || w.id != "" && s.ID != w.id {
			t.Errorf("statement %d: %s %s, want %s %s", i, s.Verb.ID, s.ID, w.verb, w.id)
		}
		if s.Context.Extensions[lms.Cmi5SessionID] != session || s.Context.Registration != reg {
			t.Errorf("statement %d (%s): session %v, registration %s", i, s.Verb.ID, s.Context.Extensions[lms.Cmi5SessionID], s.Context.Registration)
		}
		if !slices.Equal(s.categories(), w.categories) {
			t.Errorf("statement %d (%s): categories %v, want %v", i, s.Verb.ID, s.categories(), w.categories)
		}
		if s.Actor.Account.Name != "u-learner-1" || s.Object.ID != w.object {
			t.Errorf("statement %d (%s): actor %+v, object %s", i, s.Verb.ID, s.Actor, s.Object.ID)
		}
	}
	if p := got.Statements[2]; p.Result == nil || p.Result.Score.Scaled != 0.9 || p.Result.Success == nil || !*p.Result.Success ||
		p.Context.Extensions[lms.Cmi5MasteryScore] != 0.8 {
		t.Errorf("passed: result %+v, extensions %v", p.Result, p.Context.Extensions)
	}
	if c := got.Statements[3]; c.Result == nil || c.Result.Completion == nil || !*c.Result.Completion {
		t.Errorf("completed: result %+v", c.Result)
	}
}

// @xapi/xapi in Node against the LMS through the math app's localhost
// proxy, with the app's OAuth token: statements (one, an array, by id, a
// filtered query paged by more, voiding), State, Agent Profile and Activity
// Profile with ETags, and /about. The script asserts what the library sees;
// the test then checks the LMS's side over IPC. Two proxies: the Linux
// default, which checks the caller's user, and one with a secret, as where
// the user cannot be checked (Android, macOS). There the client sends the
// secret in the Httpipc-Secret header (through the library's adapter hook),
// not in the path: the LRS's more links are paths from the host's root, as
// xAPI defines them, and would lose a secret path segment.
func TestXAPIClientLibrary(t *testing.T) {
	node := clientLibs(t)
	d, sock := startLMS(t)
	app, _ := loggedIn(t, d, sock, io.Discard)
	secret := proxy.NewSecret()
	for _, tc := range []struct {
		name   string
		secret string
	}{
		{"user checked", ""},
		{"secret in a header", secret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			px := &proxy.Proxy{Transport: &httpipc.Transport{Service: "unix:" + sock, Logger: quiet()}, Logger: quiet(), Secret: tc.secret}
			ln, err := proxy.Listen("")
			if err != nil {
				t.Fatal(err)
			}
			go px.Serve(ln)
			defer px.Close()
			endpoint := px.BaseURL(ln.Addr()) + "/xapi/"
			if tc.secret != "" {
				endpoint = "http://" + ln.Addr().String() + "/xapi/"
			}
			runXAPIClient(t, node, app, endpoint, tc.secret)
		})
	}
}

// runXAPIClient runs xapi-client.mjs against endpoint and checks on the LMS
// what it did.
func runXAPIClient(t *testing.T, node string, app *App, endpoint, secret string) {
	cfg, _ := json.Marshal(map[string]string{
		"endpoint": endpoint, "auth": "Bearer " + accessToken(t, app), "secret": secret,
		"homePage": "https://lms.example", "learner": "u-learner-1",
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "xapi-client.mjs", string(cfg))
	cmd.Dir = clientsDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("xapi-client.mjs: %v\n%s", err, stderr.String())
	}
	var res struct {
		Activity, Registration string
		One                    string
		Batch                  []string
		Voided, Voiding        string
		KeptState              string
		AgentProfile           struct{ ID string }
		ActivityProfile        struct {
			ID, Etag string
			Content  map[string]any
		}
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}

	// The LMS's side, over IPC.
	agent := `{"objectType":"Agent","account":{"homePage":"https://lms.example","name":"u-learner-1"}}`
	for _, tc := range []struct {
		name, path string
		code       int
		id         string // the statement's id, when 200
	}{
		{"the single statement", "?statementId=" + res.One, 200, res.One},
		{"a statement of the batch", "?statementId=" + res.Batch[4], 200, res.Batch[4]},
		{"the voided statement", "?statementId=" + res.Voided, 404, ""},
		{"the voided statement as voided", "?voidedStatementId=" + res.Voided, 200, res.Voided},
		{"the voiding statement", "?statementId=" + res.Voiding, 200, res.Voiding},
	} {
		var s statement
		if code, _ := lmsGet(t, app, lms.StatementsPath+tc.path, &s); code != tc.code || s.ID != tc.id {
			t.Errorf("%s: %d %s, want %d %s", tc.name, code, s.ID, tc.code, tc.id)
		}
	}
	var reg struct{ Statements []statement }
	lmsGet(t, app, lms.StatementsPath+"?"+url.Values{"registration": {res.Registration}, "ascending": {"true"}}.Encode(), &reg)
	var ids []string
	for _, s := range reg.Statements {
		ids = append(ids, s.ID)
	}
	// The voided statement is left out; its voiding statement matches the
	// filter through its target, and comes last.
	want := append([]string{res.One}, slices.DeleteFunc(slices.Clone(res.Batch), func(id string) bool { return id == res.Voided })...)
	if want = append(want, res.Voiding); !slices.Equal(ids, want) {
		t.Errorf("statements of the registration %v, want %v", ids, want)
	}

	doc := func(path string, q url.Values) (int, http.Header, map[string]any) {
		var m map[string]any
		code, h := lmsGet(t, app, path+"?"+q.Encode(), &m)
		return code, h, m
	}
	if code, _, _ := doc(lms.StatePath, url.Values{"activityId": {res.Activity}, "agent": {agent}, "registration": {res.Registration}, "stateId": {"progress"}}); code != 404 {
		t.Errorf("State of the deleted registration: %d", code)
	}
	if code, _, m := doc(lms.StatePath, url.Values{"activityId": {res.Activity}, "agent": {agent}, "stateId": {res.KeptState}}); code != 200 || m["across"] != "registrations" {
		t.Errorf("State outside the registration: %d %v", code, m)
	}
	if code, _, _ := doc(lms.AgentProfilePath, url.Values{"agent": {agent}, "profileId": {res.AgentProfile.ID}}); code != 404 {
		t.Errorf("the deleted agent profile: %d", code)
	}
	code, h, m := doc(lms.ActivityProfilePath, url.Values{"activityId": {res.Activity}, "profileId": {res.ActivityProfile.ID}})
	if code != 200 || h.Get("ETag") != res.ActivityProfile.Etag || m["theme"] != "light" || m["sound"] != "off" || len(m) != len(res.ActivityProfile.Content) {
		t.Errorf("the activity profile: %d %s %v; the client saw %s %v", code, h.Get("ETag"), m, res.ActivityProfile.Etag, res.ActivityProfile.Content)
	}
}
