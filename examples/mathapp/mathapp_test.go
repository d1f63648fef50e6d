//go:build linux

package mathapp

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/httpipc/httpipc/address"
	"github.com/httpipc/httpipc/examples/lms"
	"github.com/httpipc/httpipc/oauth"
	"github.com/httpipc/httpipc/oauth/authclient"
	"github.com/httpipc/httpipc/oauth/authserver"
	"github.com/httpipc/httpipc/proxy"
	"github.com/httpipc/httpipc/servicedir"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startLMS runs the LMS app on a socket registered as a service.
func startLMS(t *testing.T) (servicedir.Directory, string) {
	t.Helper()
	run, err := os.MkdirTemp("", "ma")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(run) })
	sock := filepath.Join(run, "lms.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		done <- lms.Serve(ctx, lms.AppConfig{
			State: filepath.Join(run, "state"), Listen: "unix:" + sock, Issuer: "https://lms.example",
			IPCService: "org.httpipc.test.lms", Learner: "u-learner-1", Logger: quiet(),
			Clients: []authserver.Client{{ID: ClientID, Name: "Math Lesson", RedirectURIs: []string{"http://127.0.0.1/callback"}, Scopes: Scopes}},
			Ready:   func(string) { close(ready) },
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	dir := t.TempDir()
	d := servicedir.At(dir)
	if err := d.Install(dir, &servicedir.Entry{Name: "org.httpipc.test.lms", Socket: address.Address{Kind: address.Unix, Path: sock}}); err != nil {
		t.Fatal(err)
	}
	return d, sock
}

func loggedIn(t *testing.T, d servicedir.Directory, sock string, log io.Writer) (*App, *proxy.Proxy) {
	t.Helper()
	px := &proxy.Proxy{Service: "unix:" + sock, Logger: quiet()}
	ln, err := proxy.Listen("")
	if err != nil {
		t.Fatal(err)
	}
	go px.Serve(ln)
	t.Cleanup(func() { px.Close() })
	app := &App{
		Auth: &authclient.Config{OAuth2: oauth2.Config{ClientID: ClientID, Scopes: Scopes, RedirectURL: "http://127.0.0.1/callback",
			Endpoint: oauth2.Endpoint{AuthURL: px.BaseURL(ln.Addr()) + oauth.AuthorizePath, TokenURL: "https://lms.example" + oauth.TokenPath, AuthStyle: oauth2.AuthStyleInParams}},
			Directory: d},
		API: "https://lms.example", Learner: "u-learner-1", Log: log,
	}
	if err := app.Login(context.Background(), Consent(log)); err != nil {
		t.Fatal(err)
	}
	return app, px
}

func TestLessonOverIPC(t *testing.T) {
	d, sock := startLMS(t)
	var log strings.Builder
	app, _ := loggedIn(t, d, sock, &log)
	rep, err := app.RunLesson(context.Background())
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if strings.Join(rep.Classes, ",") != "Mathematics 7B,Science 7B" || app.Session.IPCService != "org.httpipc.test.lms" {
		t.Fatalf("report %+v via %q\n%s", rep, app.Session.IPCService, log.String())
	}
}

// The HTML5 lesson, as a web view shows it, in headless Chromium: the page
// reads the learner's classes and records a statement through the
// localhost proxy.
func TestLessonPageInChromium(t *testing.T) {
	chromium := need(t, "chromium")
	d, sock := startLMS(t)
	app, _ := loggedIn(t, d, sock, io.Discard)
	_, u := serveLesson(t, app, sock)
	ctx := t.Context()
	dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer dcancel()
	out, err := exec.CommandContext(dctx, chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=10000", "--dump-dom", u).Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	dom := string(out)
	if !strings.Contains(dom, `<li class="class">Mathematics 7B</li>`) {
		t.Errorf("no classes in the page:\n%s", dom)
	}
	m := regexp.MustCompile(`recorded ([0-9a-f-]{36})`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("no statement recorded:\n%s", dom)
	}
	// The statement is in the LMS, read back over IPC.
	var back map[string]any
	if err := app.do(ctx, app.Session.Client(ctx), "GET", statementsPath+"?statementId="+m[1], nil, &back, 200); err != nil || back["id"] != m[1] {
		t.Fatalf("reading the statement back: %v %v", err, back)
	}
}
