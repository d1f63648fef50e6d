// Package mathapp is the example client app of httpipc: a math lesson that
// logs in through the learner's LMS app, reads the learner's classes, and
// reports what the learner did (an xAPI statement and a OneRoster result).
// The same code runs offline (the LMS on the device, over IPC) and online
// (the LMS's server, over the network): only the login's redirect differs.
// Its HTML5 lesson page talks to the LMS through the embedded localhost
// proxy, as a web view would.
//
// The math app and the LMS are two vendors' apps: they share no Go code,
// only HTTP. The few JSON shapes and paths the app uses are its own copies
// of what the standards (OneRoster 1.2, xAPI 1.0.3) define.
package mathapp

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/httpipc/httpipc/oauth/authclient"
	"github.com/httpipc/httpipc/proxy"
)

//go:embed lesson
var lessonFS embed.FS

// ClientID is the math app's OAuth client id.
const ClientID = "org.httpipc.demo.math"

// Scopes the math app asks for: read the roster, write xAPI statements and
// gradebook results.
var Scopes = []string{"roster.read", "xapi.write", "gradebook.write"}

// The LMS's APIs as the standards name them.
const (
	rosteringPath  = "/ims/oneroster/rostering/v1p2"
	gradebookPath  = "/ims/oneroster/gradebook/v1p2"
	statementsPath = "/xapi/statements"
	xapiVersion    = "1.0.3"
)

// class is the part of a OneRoster class the app reads.
type class struct {
	SourcedID string `json:"sourcedId"`
	Title     string `json:"title"`
}

// result is the part of a OneRoster result the app reads back.
type result struct {
	SourcedID string  `json:"sourcedId"`
	Score     float64 `json:"score"`
}

// newStatementID returns a fresh xAPI statement id, a version 4 UUID.
func newStatementID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// App is the math app, logged in or not.
type App struct {
	// Auth is the OAuth configuration: the LMS's endpoints as the app knows
	// them, and the registered providers it trusts.
	Auth *authclient.Config
	// API is the LMS's base URL as the app knows it online.
	API string
	// Learner is the learner's sourcedId.
	Learner string
	// Log receives each step, for a person to follow.
	Log io.Writer

	Session *authclient.Session
}

func (a *App) logf(format string, args ...any) {
	if a.Log != nil {
		fmt.Fprintf(a.Log, format+"\n", args...)
	}
}

// Login runs the desktop login (loopback redirect); browse opens the
// authorization URL, as a browser or the LMS app would.
func (a *App) Login(ctx context.Context, browse func(ctx context.Context, authURL string) error) error {
	s, err := a.Auth.LoopbackLogin(ctx, func(u string) error {
		a.logf("math app: opens the authorization link %s", shorten(u))
		return browse(ctx, u)
	})
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	a.Session = s
	if s.IPCService != "" {
		a.logf("math app: the redirect carries ipc-service=%s: a registered provider, so the code was redeemed over IPC", s.IPCService)
	} else {
		a.logf("math app: the redirect carries no ipc-service: the code was redeemed over the network")
	}
	a.logf("math app: granted a token for %s (expires %s)", strings.Join(Scopes, ", "), s.Token().Expiry.Format(time.RFC3339))
	return nil
}

// Report is what a lesson run read and wrote.
type Report struct {
	Classes     []string
	StatementID string
	ResultID    string
}

// RunLesson reads the learner's classes, records a completed lesson as an
// xAPI statement and a gradebook result, and reads both back.
func (a *App) RunLesson(ctx context.Context) (*Report, error) {
	c := a.Session.Client(ctx)
	via := "over the network"
	if a.Session.IPCService != "" {
		via = "over IPC to " + a.Session.IPCService
	}
	rep := &Report{}
	var classes struct {
		Classes []class `json:"classes"`
	}
	if err := a.do(ctx, c, "GET", rosteringPath+"/users/"+a.Learner+"/classes", nil, &classes, 200); err != nil {
		return nil, err
	}
	for _, cl := range classes.Classes {
		rep.Classes = append(rep.Classes, cl.Title)
	}
	a.logf("math app: GET %s/users/%s/classes %s -> %s", rosteringPath, a.Learner, via, strings.Join(rep.Classes, ", "))

	rep.StatementID = newStatementID()
	stmt := map[string]any{
		"actor":  map[string]any{"objectType": "Agent", "account": map[string]any{"homePage": a.API, "name": a.Learner}},
		"verb":   map[string]any{"id": "http://adlnet.gov/expapi/verbs/completed", "display": map[string]any{"en-US": "completed"}},
		"object": map[string]any{"id": "https://math.example/lessons/fractions-1"},
		"result": map[string]any{"score": map[string]any{"scaled": 0.9}, "success": true, "completion": true},
	}
	if err := a.do(ctx, c, "PUT", statementsPath+"?statementId="+rep.StatementID, stmt, nil, 204); err != nil {
		return nil, err
	}
	a.logf("math app: PUT %s?statementId=%s (xAPI, completed fractions-1) %s -> 204", statementsPath, rep.StatementID, via)

	rep.ResultID = "r-" + a.Learner + "-fractions-1"
	grade := map[string]any{"result": map[string]any{"lineItemSourcedId": "li-fractions-1", "studentSourcedId": a.Learner, "score": 0.9}}
	if err := a.do(ctx, c, "PUT", gradebookPath+"/results/"+rep.ResultID, grade, nil, 200, 201); err != nil {
		return nil, err
	}
	a.logf("math app: PUT %s/results/%s (score 0.9) %s", gradebookPath, rep.ResultID, via)

	var back map[string]any
	if err := a.do(ctx, c, "GET", statementsPath+"?statementId="+rep.StatementID, nil, &back, 200); err != nil {
		return nil, err
	}
	var res struct {
		Result result `json:"result"`
	}
	if err := a.do(ctx, c, "GET", gradebookPath+"/results/"+rep.ResultID, nil, &res, 200); err != nil {
		return nil, err
	}
	if back["id"] != rep.StatementID || res.Result.Score != 0.9 {
		return nil, fmt.Errorf("read back statement %v and result %+v, not what was written", back["id"], res.Result)
	}
	a.logf("math app: read both back %s: statement stored %v, result score %v", via, back["stored"], res.Result.Score)
	return rep, nil
}

func (a *App) do(ctx context.Context, c *http.Client, method, path string, body, out any, want ...int) error {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.API+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Experience-API-Version", xapiVersion)
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	ok := false
	for _, w := range want {
		ok = ok || resp.StatusCode == w
	}
	if !ok {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: %s %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
	}
	return nil
}

// Consent is a scripted user at the LMS's consent page: it opens the
// authorization URL, reads what is asked, presses Allow, and follows the
// redirect back to the app, like a browser.
func Consent(log io.Writer) func(ctx context.Context, authURL string) error {
	formID := regexp.MustCompile(`name="consent" value="([0-9a-f]+)"`)
	client := regexp.MustCompile(`<span id="client">([^<]*)</span>`)
	return func(ctx context.Context, authURL string) error {
		c := &http.Client{Timeout: 30 * time.Second}
		req, _ := http.NewRequestWithContext(ctx, "GET", authURL, nil)
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		page, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		m := formID.FindSubmatch(page)
		if resp.StatusCode != 200 || m == nil {
			return fmt.Errorf("consent page: %s %s", resp.Status, shorten(string(page)))
		}
		who := "?"
		if n := client.FindSubmatch(page); n != nil {
			who = string(n[1])
		}
		fmt.Fprintf(log, "LMS consent page: \"Allow %s?\" -- the learner presses Allow\n", who)
		u, _ := url.Parse(authURL)
		u.RawQuery = ""
		form := url.Values{"consent": {string(m[1])}, "decision": {"allow"}}
		req, _ = http.NewRequestWithContext(ctx, "POST", u.String(), strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", u.Scheme+"://"+u.Host)
		resp, err = c.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), "Logged in") {
			return fmt.Errorf("after Allow: %s %s", resp.Status, bytes.TrimSpace(body))
		}
		return nil
	}
}

// ServeLesson serves the HTML5 lesson on ln, with every other path going
// through px, a localhost proxy to the LMS (the web view's only way in), and
// config.json handing the page its token. It returns a one-time launch URL
// for the lesson: ServeLesson turns on px.BrowserSessions, and the lesson's
// own files and config.json pass px's guard like the API does, so only the
// browser or web view that opens the URL first gets in (on Linux, also only
// this user's processes): the page's token is no one else's to read.
func (a *App) ServeLesson(ctx context.Context, ln net.Listener, px *proxy.Proxy) (string, error) {
	if a.Session == nil {
		return "", fmt.Errorf("mathapp: not logged in")
	}
	px.BrowserSessions = true
	sub, _ := fs.Sub(lessonFS, "lesson")
	mux := http.NewServeMux()
	mux.Handle("GET /lesson/", px.Guard(http.StripPrefix("/lesson/", http.FileServerFS(sub))))
	mux.Handle("GET /lesson/config.json", px.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Only pages of this origin may read it.
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		t, err := a.Session.Client(r.Context()).Transport.(*oauth2.Transport).Source.Token()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(map[string]string{"token": t.AccessToken, "learner": a.Learner})
	})))
	mux.Handle("/", px)
	launch, err := px.LaunchURL(ln.Addr(), "/lesson/index.html")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second, ConnContext: proxy.ConnContext}
	go srv.Serve(ln)
	go func() { <-ctx.Done(); srv.Close() }()
	return launch, nil
}

func shorten(s string) string {
	if len(s) > 110 {
		return s[:107] + "..."
	}
	return s
}
