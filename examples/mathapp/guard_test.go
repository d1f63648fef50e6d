//go:build linux

package mathapp

import (
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os/exec"
	"strings"
	"testing"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/internal/otheruser"
	"github.com/httpipc/httpipc/proxy"
)

// The lesson's config.json hands out the learner's token: only the browser
// that opened the launch URL reads it, not another process of this user
// without the session, nor another user (nobody) at all.
func TestLessonGuarded(t *testing.T) {
	d, sock := startLMS(t)
	app, _ := loggedIn(t, d, sock, io.Discard)
	ln, launch := serveLesson(t, app, sock)
	config := "http://" + ln.Addr().String() + "/lesson/config.json"
	read := func(c *http.Client, url string) (int, string) {
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := read(http.DefaultClient, config); code != 403 || !strings.Contains(body, "no session") {
		t.Fatalf("config.json without the session: %d %q", code, body)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	if code, body := read(browser, launch); code != 200 || !strings.Contains(body, "<html") {
		t.Fatalf("the lesson page: %d %.100q", code, body)
	}
	if code, body := read(browser, config); code != 200 || !strings.Contains(body, `"token":`) {
		t.Fatalf("config.json in the browser: %d %q", code, body)
	}
	if curl, err := exec.LookPath("curl"); err == nil {
		otheruser.Require(t) // last: it may skip
		out, _ := otheruser.Command(curl, "-sS", config).CombinedOutput()
		if !strings.Contains(string(out), "connection from uid 65534 refused") {
			t.Fatalf("nobody reading config.json: %q", out)
		}
	}
}

// serveLesson serves the app's lesson page through a localhost proxy to
// the LMS at sock, for the rest of the test, and returns the proxy's
// listener and the lesson's one-time launch URL.
func serveLesson(t *testing.T, app *App, sock string) (net.Listener, string) {
	t.Helper()
	ln, err := proxy.Listen("")
	if err != nil {
		t.Fatal(err)
	}
	launch, err := app.ServeLesson(t.Context(), ln, &proxy.Proxy{Transport: &httpipc.Transport{Service: "unix:" + sock, Logger: quiet()}, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	return ln, launch
}
