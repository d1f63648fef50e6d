//go:build linux

package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/address"
	"github.com/httpipc/httpipc/internal/otheruser"
	"github.com/httpipc/httpipc/internal/syncbuf"
	"github.com/httpipc/httpipc/servicedir"
)

// These tests drive the proxy with real clients (curl, headless Chromium)
// and let it start a provider process on demand: the test binary itself,
// started with providerEnv set.

const providerEnv = "HTTPIPC_PROXY_TEST_PROVIDER"

func TestMain(m *testing.M) {
	if addr := os.Getenv(providerEnv); addr != "" {
		ln, err := httpipc.Listen(addr)
		if err == nil {
			mux := http.NewServeMux()
			mux.Handle("/", api(make(chan string, 100)))
			mux.HandleFunc("/pid", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, os.Getpid()) })
			err = (&httpipc.Server{Handler: mux, Logger: quiet(), IdleTimeout: time.Minute}).Serve(ln)
		}
		fmt.Fprintln(os.Stderr, "test provider:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// The first request through the proxy starts the provider.
func TestOnDemand(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	run, err := os.MkdirTemp("", "pxd")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(run)
	sock := filepath.Join(run, "p.sock")
	dir := t.TempDir()
	d := servicedir.At(dir)
	err = d.Install(dir, &servicedir.Entry{
		Name:   "org.httpipc.proxytest",
		Socket: address.Address{Kind: address.Unix, Path: sock},
		Exec:   []string{exe},
		Env:    map[string]string{providerEnv: "unix:" + sock},
	})
	if err != nil {
		t.Fatal(err)
	}
	tr := &httpipc.Transport{Service: "org.httpipc.proxytest", Directory: d, Logger: quiet()}
	base := start(t, &Proxy{Transport: tr})
	resp, err := http.Get(base + "/pid")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	pid, err := strconv.Atoi(string(b))
	if err != nil || pid == os.Getpid() {
		t.Fatalf("got %q from the provider", b)
	}
	syscall.Kill(pid, syscall.SIGKILL)
}

func need(t *testing.T, prog, env string) string {
	t.Helper()
	path, err := exec.LookPath(prog)
	if err != nil {
		if os.Getenv(env) != "" {
			t.Fatalf("%s is not installed", prog)
		}
		t.Skipf("%s is not installed", prog)
	}
	return path
}

// curl, run as this user and as another one (nobody): the default proxy
// admits only this user; AllowOtherUsers is the explicit way to open it.
func TestCurl(t *testing.T) {
	curl := need(t, "curl", "HTTPIPC_REQUIRE_CLIENTS")
	svc := provider(t, nil)
	base := start(t, &Proxy{Service: svc})
	open := start(t, &Proxy{Service: svc, AllowOtherUsers: true})
	for _, tc := range []struct {
		name   string
		args   []string
		nobody bool
		want   string // status code, then the body's start
	}{
		{"get", []string{base + "/lesson.txt"}, false, "200 0123456789"},
		{"range", []string{"-r", "0-3", base + "/lesson.txt"}, false, "206 0123"},
		{"upload", []string{"--data-binary", "abc", base + "/sum"}, false, "200 3 ba7816bf"},
		{"rebinding", []string{"-H", "Host: evil.example", base + "/headers"}, false, "421 httpipc proxy: Host"},
		{"foreign origin", []string{"-H", "Origin: https://evil.example", base + "/headers"}, false, "403 httpipc proxy: cross-origin"},
		{"other user", []string{base + "/lesson.txt"}, true, `403 httpipc proxy: connection from uid 65534 refused: only this app's user may call\n`},
		{"other user, allowed", []string{open + "/lesson.txt"}, true, "200 0123456789"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-sS", "-w", "%{http_code}", "-o", "-"}, tc.args...)
			cmd := exec.Command(curl, args...)
			if tc.nobody {
				otheruser.Require(t)
				cmd = otheruser.Command(curl, args...)
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("curl: %v: %s", err, out)
			}
			s := string(out)
			// The newline shows that a refusal is one line.
			got := s[len(s)-3:] + " " + strings.ReplaceAll(s[:len(s)-3], "\n", `\n`)
			if !strings.HasPrefix(got, tc.want) {
				t.Fatalf("got %q, want %q...", got, tc.want)
			}
		})
	}
}

// A page served through the proxy calls the API; a page of another origin
// may only when the proxy allows that origin.
//
// A browser's CORS keeps a foreign page from reading a response, but not
// from sending simple requests, which it sends without a preflight: a
// no-cors fetch POST, a form POST, an <img> GET. Those must be stopped by
// the proxy, before the provider sees them, so this test counts what
// reaches the provider. The foreign page is on another site
// (http://evil.example, which Chromium resolves to 127.0.0.1), as an
// attacker's page would be.
func TestChromium(t *testing.T) {
	chromium := need(t, "chromium", "HTTPIPC_REQUIRE_CLIENTS")
	got := &arrivals{}
	svc := providerWithPage(t, got)

	var logs syncbuf.Buffer // the refusing proxy's
	own := start(t, &Proxy{Service: svc, Logger: textLogger(&logs)})
	// The other origin: a plain web server on another port.
	var allowing string
	other := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><div id=refused>pending</div><div id=allowed>pending</div>
<div id=sent-refusing>pending</div><div id=sent-allowing>pending</div>
<script>
function show(id, p) {
  p.then(r => r.text()).then(t => { document.getElementById(id).textContent = 'got ' + t })
   .catch(e => { document.getElementById(id).textContent = 'failed ' + e.name })
}
// A custom header makes these non-simple requests: the browser preflights.
const opts = {headers: {'X-Experience-API-Version': '1.0.3'}}
show('refused', fetch(%[1]q + '/api/classes', opts))
show('allowed', fetch(%[2]q + '/api/classes', opts))

// Simple requests, sent without a preflight; the page cannot read the
// answers, only see that each one finished.
function send(base, label) {
  const url = kind => base + '/api/record/' + label + '/' + kind
  const fetched = fetch(url('fetch-post'), {method: 'POST', mode: 'no-cors', body: 'grade=100'})
    .then(() => 'fetch', e => 'fetch-' + e.name)
  const posted = new Promise(resolve => {
    const frame = document.createElement('iframe')
    frame.name = 'frame-' + label
    document.body.appendChild(frame)
    frame.onload = () => resolve('form')
    const form = document.createElement('form')
    form.method = 'POST'
    form.action = url('form-post')
    form.target = frame.name
    const input = document.createElement('input')
    input.name = 'grade'
    input.value = '100'
    form.appendChild(input)
    document.body.appendChild(form)
    form.submit()
  })
  const loaded = new Promise(resolve => {
    const img = new Image()
    img.onload = img.onerror = () => resolve('img')
    img.src = url('img')
  })
  Promise.all([fetched, posted, loaded]).then(r => { document.getElementById('sent-' + label).textContent = 'done ' + r.join(' ') })
}
send(%[1]q, 'refusing')
send(%[2]q, 'allowing')
</script>`, own, allowing)
	}))
	const foreignHost = "evil.example"
	_, port, _ := net.SplitHostPort(other.Listener.Addr().String())
	foreign := "http://" + foreignHost + ":" + port
	// The allowing proxy needs the other origin, which the page names:
	// set it up before the server starts serving the page.
	allowing = start(t, &Proxy{Service: svc, AllowOrigins: []string{foreign}})
	other.Start()
	defer other.Close()

	dump := func(url string) string {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu",
			"--host-resolver-rules=MAP "+foreignHost+" 127.0.0.1",
			"--user-data-dir="+t.TempDir(), "--virtual-time-budget=10000", "--dump-dom", url).Output()
		if err != nil {
			t.Fatalf("chromium: %v", err)
		}
		return string(out)
	}
	// The page's own image shows that an <img> GET reaches the provider
	// when it is allowed: the refusals below are the proxy's, not a page
	// that failed to send.
	if dom := dump(own + "/lesson/index.html"); !strings.Contains(dom, `<div id="out">got ["math-7b"]</div>`) ||
		!strings.Contains(dom, `<div id="img">loaded</div>`) {
		t.Fatalf("own page:\n%s", dom)
	}
	if want := []string{"GET own/img"}; !slices.Equal(got.take(), want) {
		t.Fatalf("the provider got %q from the own page, want %q", got.take(), want)
	}

	dom := dump(foreign + "/")
	if !strings.Contains(dom, `<div id="refused">failed TypeError</div>`) {
		t.Errorf("a foreign page read the API:\n%s", dom)
	}
	if !strings.Contains(dom, `<div id="allowed">got ["math-7b"]</div>`) {
		t.Errorf("an allowed origin could not read the API:\n%s", dom)
	}
	// The page waited for every request's answer, and the provider records
	// a request before the proxy answers it: all that arrived is recorded.
	for _, label := range []string{"refusing", "allowing"} {
		if want := `<div id="sent-` + label + `">done fetch form img</div>`; !strings.Contains(dom, want) {
			t.Fatalf("the foreign page did not finish its simple requests to the %s proxy (want %s):\n%s", label, want, dom)
		}
	}
	// Through the allowing proxy the POSTs arrive, which carry the allowed
	// Origin; the <img> GET carries none, only Sec-Fetch-Site: cross-site,
	// which no origin list can vouch for.
	arrived := got.take()
	if want := []string{"POST allowing/fetch-post grade=100", "POST allowing/form-post grade=100"}; !slices.Equal(arrived, want) {
		t.Fatalf("the provider got %q from the foreign page, want only %q (nothing through the refusing proxy)", arrived, want)
	}
	// The refusing proxy answered each with a logged 403.
	for _, want := range []struct{ path, reason string }{
		{"/api/record/refusing/fetch-post", "cross-origin request from " + foreign + " refused"},
		{"/api/record/refusing/form-post", "cross-origin request from " + foreign + " refused"},
		{"/api/record/refusing/img", "Sec-Fetch-Site: cross-site"},
	} {
		found := false
		for line := range strings.Lines(logs.String()) {
			if strings.Contains(line, "url="+want.path) && strings.Contains(line, "status=403") && strings.Contains(line, want.reason) {
				found = true
			}
		}
		if !found {
			t.Errorf("no refusal of %s (%s) logged:\n%s", want.path, want.reason, logs.String())
		}
	}
}

// arrivals records the requests that reach a provider.
type arrivals struct {
	mu  sync.Mutex
	got []string
}

func (a *arrivals) add(s string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = append(a.got, s)
}

// take returns the requests recorded so far, sorted, and forgets them.
func (a *arrivals) take() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	got := a.got
	a.got = nil
	slices.Sort(got)
	return got
}

// providerWithPage serves a lesson page and the API it calls. Requests to
// /api/record/ are recorded in got.
func providerWithPage(t *testing.T, got *arrivals) string {
	dir, err := os.MkdirTemp("", "pxc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	addr := "unix:" + filepath.Join(dir, "p.sock")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /lesson/index.html", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><div id=out>pending</div><div id=img>pending</div>
<script>
fetch('/api/classes', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{}'})
  .then(r => r.text()).then(t => { document.getElementById('out').textContent = 'got ' + t })
  .catch(e => { document.getElementById('out').textContent = 'failed ' + e })
const img = new Image()
img.onload = () => { document.getElementById('img').textContent = 'loaded' }
img.onerror = () => { document.getElementById('img').textContent = 'failed' }
img.src = '/api/record/own/img'
</script>`)
	})
	mux.HandleFunc("/api/classes", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Forwarded") == "" {
			http.Error(w, "no Forwarded", 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `["math-7b"]`)
	})
	mux.HandleFunc("/api/record/{from}/{kind}", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 100))
		got.add(strings.TrimSpace(r.Method + " " + r.PathValue("from") + "/" + r.PathValue("kind") + " " + string(body)))
		if r.PathValue("kind") == "img" {
			w.Header().Set("Content-Type", "image/gif")
			w.Write(gif)
			return
		}
		fmt.Fprint(w, "recorded")
	})
	ln, err := httpipc.Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &httpipc.Server{Handler: mux, Logger: quiet()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return addr
}

// gif is a 1x1 transparent GIF.
var gif = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

// A proxy on a unix: socket: the socket file is 0600, so another user
// cannot even connect; were the file opened up (or the socket abstract),
// the peer credentials check refuses that user with 403.
func TestOtherUserUnixSocket(t *testing.T) {
	otheruser.Require(t)
	curl := need(t, "curl", "HTTPIPC_REQUIRE_CLIENTS")
	path := filepath.Join(otheruser.Dir(t), "proxy.sock")
	ln, err := Listen("unix:" + path)
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Service: provider(t, nil), Logger: quiet()}
	go p.Serve(ln)
	defer p.Close()
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket file mode %v (%v), want 0600", fi.Mode(), err)
	}
	args := []string{"-sS", "-w", "%{http_code}", "-o", "-", "--unix-socket", path, "http://localhost/lesson.txt"}
	if out, err := exec.Command(curl, args...).CombinedOutput(); err != nil || string(out) != "0123456789200" {
		t.Fatalf("this user: %v %q", err, out)
	}
	out, err := otheruser.Command(curl, args...).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 7 { // curl: could not connect
		t.Fatalf("the other user connected to the 0600 socket: %v %q", err, out)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	out, err = otheruser.Command(curl, args...).CombinedOutput()
	if want := "httpipc proxy: connection from uid 65534 refused: only this app's user may call\n403"; err != nil || string(out) != want {
		t.Fatalf("the other user through an open socket file: %v %q, want %q", err, out, want)
	}
}

// Another user can neither open a browser session's launch URL (refused
// before the token is looked at, so the user's browser can still use it)
// nor use a stolen session cookie.
func TestOtherUserLaunchURL(t *testing.T) {
	otheruser.Require(t)
	curl := need(t, "curl", "HTTPIPC_REQUIRE_CLIENTS")
	p := &Proxy{Service: provider(t, nil), BrowserSessions: true, Logger: quiet()}
	ln, err := Listen("")
	if err != nil {
		t.Fatal(err)
	}
	go p.Serve(ln)
	defer p.Close()
	launch, err := p.LaunchURL(ln.Addr(), "/lesson.txt")
	if err != nil {
		t.Fatal(err)
	}
	refused := "httpipc proxy: connection from uid 65534 refused: only this app's user may call\n403"
	out, err := otheruser.Command(curl, "-sS", "-w", "%{http_code}", "-o", "-", launch).CombinedOutput()
	if err != nil || string(out) != refused {
		t.Fatalf("the other user opening the launch URL: %v %q", err, out)
	}
	jarFile := filepath.Join(otheruser.Dir(t), "cookies")
	out, err = exec.Command(curl, "-sS", "-L", "-c", jarFile, "-w", "%{http_code}", "-o", "-", launch).CombinedOutput()
	if err != nil || string(out) != "0123456789200" {
		t.Fatalf("this user opening the launch URL: %v %q", err, out)
	}
	if err := os.Chmod(jarFile, 0o644); err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String() + "/lesson.txt"
	if out, err := exec.Command(curl, "-sS", "-b", jarFile, "-w", "%{http_code}", "-o", "-", base).CombinedOutput(); err != nil || string(out) != "0123456789200" {
		t.Fatalf("this user with the cookie: %v %q", err, out)
	}
	out, err = otheruser.Command(curl, "-sS", "-b", jarFile, "-w", "%{http_code}", "-o", "-", base).CombinedOutput()
	if err != nil || string(out) != refused {
		t.Fatalf("the other user with a stolen cookie: %v %q", err, out)
	}
}
