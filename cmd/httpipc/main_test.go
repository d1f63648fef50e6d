package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/httpipc/httpipc/internal/bench"
	"github.com/httpipc/httpipc/internal/otheruser"
	"github.com/httpipc/httpipc/internal/testprog"
	"github.com/httpipc/httpipc/internal/testwait"
	"github.com/httpipc/httpipc/oauth"
	"github.com/httpipc/httpipc/proxy"
)

func TestMain(m *testing.M) {
	bench.MaybeServe()
	if args := os.Getenv("HTTPIPC_CLI_ARGS"); args != "" {
		var argv []string
		json.Unmarshal([]byte(args), &argv)
		os.Exit(run(argv, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestHelpAndUsageErrors(t *testing.T) {
	tests := []struct {
		args     []string
		wantCode int
		wantOut  string // in stdout or stderr
	}{
		{[]string{"--help"}, 0, "Commands:"},
		{nil, 2, "Commands:"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"serve", "--help"}, 0, "--upstream"},
		{[]string{"call", "--help"}, 0, "-X"},
		{[]string{"bench", "--help"}, 0, "--json"},
		{[]string{"serve", "--listen", "unix:/tmp/x.sock"}, 2, "--listen and --upstream are required"},
		{[]string{"serve", "--listen", "unix:/tmp/x.sock", "--upstream", "ftp://x"}, 2, "not an http:// or https:// URL"},
		{[]string{"call", "unix:/tmp/x.sock"}, 2, "want ADDR and PATH"},
		{[]string{"call", "unix:/tmp/x.sock", "users"}, 2, "must start with /"},
		{[]string{"call", "-H", "bad", "unix:/tmp/x.sock", "/"}, 2, "is not 'Name: value'"},
		{[]string{"call", "unix:relative", "/"}, 1, "must be absolute"},
		{[]string{"call", "unix:/nonexistent/x.sock", "/"}, 1, "provider not running"},
		{[]string{"proxy", "--help"}, 0, "--print-url"},
		{[]string{"auth", "--help"}, 0, "auth client add"},
		{[]string{"auth"}, 2, "want 'serve'"},
		{[]string{"auth", "serve", "--listen", "unix:/tmp/x.sock"}, 2, "--listen and --db are required"},
		{[]string{"auth", "serve", "--listen", "unix:/tmp/x.sock", "--db", "/tmp/x.db", "--consent", "maybe"}, 2, "is not web, prompt or allow-all"},
		{[]string{"auth", "client", "add", "--db", "/tmp/x.db"}, 2, "are required"},
		{[]string{"login", "--help"}, 0, "--client-id"},
		{[]string{"login", "--service", "unix:/nonexistent/x.sock", "--client-id", "c"}, 1, "provider not running"},
		{[]string{"proxy"}, 2, "--service is required"},
		{[]string{"proxy", "--service", "unix:/tmp/x.sock", "--allow-origin", "app.example"}, 2, "is not an origin"},
		{[]string{"proxy", "--service", "unix:/tmp/x.sock", "--listen", "0.0.0.0:0"}, 1, "not a loopback address"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(tt.args...)
			if code != tt.wantCode || !strings.Contains(out+errOut, tt.wantOut) {
				t.Fatalf("exit %d, want %d; output %q%q, want %q", code, tt.wantCode, out, errOut, tt.wantOut)
			}
		})
	}
}

// startServe runs "httpipc serve" as a separate process in front of an
// upstream HTTP server and returns the socket address.
func startServe(t *testing.T, upstream string) string {
	t.Helper()
	run, err := os.MkdirTemp("", "hc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(run) })
	sock := filepath.Join(run, "s.sock")
	args, _ := json.Marshal([]string{"serve", "--listen", "unix:" + sock, "--upstream", upstream})
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "HTTPIPC_CLI_ARGS="+string(args))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for {
		// Ready when it accepts, not merely when its file exists.
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return "unix:" + sock
		}
		select {
		case <-deadline:
			t.Fatalf("serve did not create its socket: %s", stderr.String())
		case <-tick.C:
		}
	}
}

func TestServeAndCall(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			h := sha256.New()
			n, _ := io.Copy(h, r.Body)
			fmt.Fprintf(w, "%s %d %x", r.Method, n, h.Sum(nil))
		case "/headers":
			w.Header().Set("X-Up", "1")
			fmt.Fprintf(w, "%s %s", r.Header.Get("X-Test"), r.URL.RawQuery)
		case "/big":
			w.Header().Set("Content-Type", "application/octet-stream")
			buf := make([]byte, 64<<10)
			for i := 0; i < 160; i++ { // 10 MiB
				w.Write(buf)
			}
		default:
			http.NotFound(w, r)
		}
	}))
	defer up.Close()
	addr := startServe(t, up.URL)

	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20/16*3) // 3 MiB
	file := filepath.Join(t.TempDir(), "upload")
	os.WriteFile(file, big, 0o644)
	sum := sha256.Sum256(big)

	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"get with header and query", []string{"call", "-H", "X-Test: hi", addr, "/headers?a=1"}, 0, "hi a=1"},
		{"include headers", []string{"call", "-i", addr, "/headers"}, 0, "X-Up: 1"},
		{"status line", []string{"call", "-i", addr, "/nope"}, 0, "HTTP/1.1 404 Not Found"},
		{"post data", []string{"call", "-d", "hello", addr, "/echo"}, 0, "POST 5 "},
		{"put file streams through", []string{"call", "-X", "PUT", "-d", "@" + file, addr, "/echo"}, 0, fmt.Sprintf("PUT %d %x", len(big), sum)},
		{"flags after arguments", []string{"call", addr, "/echo", "-d", "x"}, 0, "POST 1 "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(tt.args...)
			if code != tt.wantCode || !strings.Contains(out, tt.want) {
				t.Fatalf("exit %d (%s), output %q, want %q", code, errOut, out, tt.want)
			}
		})
	}
	// A large response streams back.
	code, out, errOut := runCLI("call", addr, "/big")
	if code != 0 || len(out) != 10<<20 {
		t.Fatalf("exit %d (%s), %d bytes", code, errOut, len(out))
	}
	// curl reaches the same socket over HTTP/1.1.
	if testprog.Has(t, "curl", testprog.Clients) {
		out, err := exec.Command("curl", "-sS", "-H", "X-Test: curl", "--unix-socket", strings.TrimPrefix(addr, "unix:"), "http://x/headers").CombinedOutput()
		if err != nil || string(out) != "curl " {
			t.Fatalf("curl: %v %q", err, out)
		}
	}
}

func TestBenchJSON(t *testing.T) {
	code, out, errOut := runCLI("bench", "--json", "--duration", "20ms", "--only", "rtt-64B,rtt-64KiB,stream-16MiB,concurrent-64x64B", "--stream-bytes", "1048576")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var results []bench.Result
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range results {
		if r.NsPerOp <= 0 || r.BytesPerS <= 0 {
			t.Errorf("%s/%s: %+v", r.Scenario, r.Contender, r)
		}
		seen[r.Scenario+"/"+r.Contender] = true
	}
	for _, s := range []string{bench.RTT64B, bench.RTT64KiB, bench.Stream16MiB, bench.Concurrent64} {
		for _, c := range []string{bench.RawUnix, bench.NetHTTPUnix, bench.NetHTTPTCP, bench.HTTPIPCUnix} {
			if !seen[s+"/"+c] {
				t.Errorf("missing %s/%s", s, c)
			}
		}
	}
}

// "httpipc proxy" prints its base URL once ready; requests to it reach the
// provider, and one without the secret is refused.
func TestProxyCommand(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.URL.Path, r.Header.Get("Forwarded"))
	}))
	defer up.Close()
	addr := startServe(t, up.URL)
	args, _ := json.Marshal([]string{"proxy", "--service", addr, "--print-url", "--secret"})
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "HTTPIPC_CLI_ARGS="+string(args))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("no URL: %v: %s", err, stderr.String())
	}
	base := strings.TrimSpace(line)
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(base + "/classes"); code != 200 || !strings.HasPrefix(body, "/classes for=") {
		t.Errorf("through the proxy: %d %q", code, body)
	}
	root := base[:strings.LastIndexByte(base, '/')]
	if code, body := get(root + "/classes"); code != 403 || !strings.Contains(body, "secret") {
		t.Errorf("without the secret: %d %q", code, body)
	}
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		t.Errorf("proxy exit: %v: %s", err, stderr.String())
	}
}

// cliProcess starts this binary as "httpipc ARGS...".
func cliProcess(t *testing.T, args ...string) (*exec.Cmd, io.WriteCloser, *bufio.Reader, *bufio.Reader) {
	t.Helper()
	argv, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "HTTPIPC_CLI_ARGS="+string(argv))
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	errp, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	return cmd, in, bufio.NewReader(out), bufio.NewReader(errp)
}

// The offline login across real processes: "httpipc auth serve" asks on its
// terminal, "httpipc login" waits for the loopback redirect, and this test
// plays the browser.
func TestAuthAndLogin(t *testing.T) {
	dir, err := os.MkdirTemp("", "ha")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, sock := filepath.Join(dir, "auth.db"), "unix:"+filepath.Join(dir, "auth.sock")
	code, out, errOut := runCLI("auth", "client", "add", "--db", db, "--id", "cli", "--name", "Command Line",
		"--redirect-uri", "http://127.0.0.1/callback", "--scope", "roster.read")
	if code != 0 || !strings.Contains(out, "client cli registered") {
		t.Fatalf("client add: %d %s %s", code, out, errOut)
	}
	if code, out, _ := runCLI("auth", "client", "list", "--db", db); code != 0 || !strings.Contains(out, `cli	"Command Line"`) {
		t.Fatalf("client list: %d %s", code, out)
	}
	_, serverIn, serverOut, serverErr := cliProcess(t, "auth", "serve", "--listen", sock, "--db", db, "--consent", "prompt")
	waitLine(t, serverErr, "authorization server ready")
	_, _, loginOut, loginErr := cliProcess(t, "login", "--service", sock, "--client-id", "cli", "--scope", "roster.read")
	waitLine(t, loginErr, "Open this URL")
	authURL, err := loginErr.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	// The browser: open the consent URL and follow the redirect back. It
	// keeps the cookie the login's proxy gives it for the launch URL.
	done := make(chan error, 1)
	go func() {
		jar, _ := cookiejar.New(nil)
		resp, err := (&http.Client{Jar: jar}).Get(strings.TrimSpace(authURL))
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(b), "Logged in") {
				err = fmt.Errorf("browser ends on %s: %s", resp.Status, b)
			}
		}
		done <- err
	}()
	// The user reads the prompt on the server's terminal and allows.
	waitLine(t, serverOut, `"Command Line" (client cli) asks for: roster.read`)
	io.WriteString(serverIn, "y\n")
	if err := testwait.Recv(t, done, time.Minute, "the browser's login"); err != nil {
		t.Fatal(err)
	}
	checkLoginOutput(t, loginOut, sock, true)
}

// checkLoginOutput reads the JSON "httpipc login" printed and fails the
// test unless it names ipc service sock and carries an access token (and,
// with refresh set, a refresh token), as non-empty strings.
func checkLoginOutput(t *testing.T, r io.Reader, sock string, refresh bool) {
	t.Helper()
	var tok map[string]any
	decoded := make(chan error, 1)
	go func() { decoded <- json.NewDecoder(r).Decode(&tok) }()
	if err := testwait.Recv(t, decoded, time.Minute, "the login's output"); err != nil {
		t.Fatal(err)
	}
	nonEmpty := func(k string) bool { s, ok := tok[k].(string); return ok && s != "" }
	if tok["ipc_service"] != sock || !nonEmpty("access_token") || refresh && !nonEmpty("refresh_token") {
		t.Fatalf("login printed %v", tok)
	}
}

// waitLine reads r until a line contains want, within a bound.
func waitLine(t *testing.T, r *bufio.Reader, want string) string {
	t.Helper()
	type res struct {
		line string
		err  error
	}
	lines := make(chan res)
	go func() {
		for {
			l, err := r.ReadString('\n')
			lines <- res{l, err}
			if err != nil || strings.Contains(l, want) {
				return
			}
		}
	}()
	deadline := time.After(time.Minute)
	var seen []string
	for {
		select {
		case l := <-lines:
			seen = append(seen, l.line)
			if strings.Contains(l.line, want) {
				return l.line
			}
			if l.err != nil {
				t.Fatalf("no %q in:\n%s", want, strings.Join(seen, ""))
			}
		case <-deadline:
			t.Fatalf("no %q within a minute:\n%s", want, strings.Join(seen, ""))
		}
	}
}

// TestServeUpstreamFailure: serve's own 502, when its upstream does not
// answer, carries an httpipc-error code; the upstream's own 502 does not.
func TestServeUpstreamFailure(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "the API's own bad gateway", http.StatusBadGateway)
	}))
	defer up.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	for _, tc := range []struct {
		name, upstream, want, notWant string
	}{
		{"upstream down", down.URL, "Httpipc-Error: upstream-failed", "the API's own"},
		{"upstream answers 502", up.URL, "the API's own bad gateway", "Httpipc-Error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := startServe(t, tc.upstream)
			code, out, errOut := runCLI("call", "-i", addr, "/x")
			if code != 0 || !strings.Contains(out, "HTTP/1.1 502 Bad Gateway") || !strings.Contains(out, tc.want) || strings.Contains(out, tc.notWant) {
				t.Fatalf("exit %d (%s), output %q, want 502 with %q and without %q", code, errOut, out, tc.want, tc.notWant)
			}
		})
	}
}

// The login's proxy against another local user (nobody), who can read the
// launch URL on the browser's command line: that user can neither open it,
// nor load or answer the consent page (even with the session cookie), nor
// reach the token endpoint; the token endpoint is not forwarded at all, and
// this user's own browser logs in.
func TestLoginOtherUser(t *testing.T) {
	otheruser.Require(t)
	curl := testprog.Path(t, "curl", testprog.Clients)
	dir, err := os.MkdirTemp("", "ha")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, sock := filepath.Join(dir, "auth.db"), "unix:"+filepath.Join(dir, "auth.sock")
	if code, out, errOut := runCLI("auth", "client", "add", "--db", db, "--id", "cli", "--name", "Command Line",
		"--redirect-uri", "http://127.0.0.1/callback", "--scope", "roster.read"); code != 0 {
		t.Fatalf("client add: %d %s %s", code, out, errOut)
	}
	_, _, _, serverErr := cliProcess(t, "auth", "serve", "--listen", sock, "--db", db, "--consent", "web")
	waitLine(t, serverErr, "authorization server ready")
	_, _, loginOut, loginErr := cliProcess(t, "login", "--service", sock, "--client-id", "cli", "--scope", "roster.read")
	waitLine(t, loginErr, "Open this URL")
	line, err := loginErr.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	launch := strings.TrimSpace(line)
	root, _, ok := strings.Cut(launch, proxy.LaunchPrefix)
	if !ok {
		t.Fatalf("login printed %q", launch)
	}

	asNobody := func(args ...string) string {
		out, _ := otheruser.Command(curl, append([]string{"-sS", "-w", " %{http_code}", "-o", "-"}, args...)...).CombinedOutput()
		return string(out)
	}
	const refused = "httpipc proxy: connection from uid 65534 refused: only this app's user may call\n 403"
	authorize := root + oauth.AuthorizePath + "?client_id=cli&response_type=code&scope=roster.read&state=attacker-state" +
		"&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback&code_challenge=E9Melhoe2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
	for name, args := range map[string][]string{
		"launch URL":     {launch},
		"consent page":   {authorize},
		"token endpoint": {"-d", "grant_type=authorization_code&code=x&code_verifier=y&client_id=cli", root + oauth.TokenPath},
	} {
		if got := asNobody(args...); got != refused {
			t.Errorf("nobody, %s: %q, want %q", name, got, refused)
		}
	}

	// This user's browser opens the launch URL and gets the consent page.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(launch)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="consent" value="([^"]+)"`).FindSubmatch(page)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("consent page: %s %s", resp.Status, page)
	}
	consent := url.Values{"consent": {string(m[1])}, "decision": {"allow"}}.Encode()
	var cookie string
	for _, c := range jar.Cookies(resp.Request.URL) {
		cookie = c.Name + "=" + c.Value
	}

	// The answer, from nobody: refused even with the browser's cookie, and
	// refused before it reaches the authorization server (the page's id
	// stays usable).
	if got := asNobody("-b", cookie, "-H", "Origin: "+root, "-d", consent+"&x=1", root+oauth.AuthorizePath); got != refused {
		t.Errorf("nobody answering the consent page: %q", got)
	}
	// The launch URL works once; without the cookie, this user is refused
	// too; with it, the token endpoint is not forwarded.
	for _, tc := range []struct {
		name   string
		c      *http.Client
		method string
		url    string
		status int
		reason string
	}{
		{"launch URL again", http.DefaultClient, "GET", launch, 403, "already used"},
		{"consent page without the cookie", http.DefaultClient, "GET", authorize, 403, "no session"},
		{"token endpoint", browser, "POST", root + oauth.TokenPath, 404, "does not forward /oauth/token"},
	} {
		req, _ := http.NewRequest(tc.method, tc.url, strings.NewReader("grant_type=authorization_code"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := tc.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.reason) {
			t.Errorf("%s: %s %q, want %d %q", tc.name, resp.Status, b, tc.status, tc.reason)
		}
	}

	// This user allows; the browser follows the redirect back to the login.
	req, _ := http.NewRequest("POST", root+oauth.AuthorizePath, strings.NewReader(consent))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", root)
	resp, err = browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "Logged in") {
		t.Fatalf("after Allow: %s %s", resp.Status, b)
	}
	checkLoginOutput(t, loginOut, sock, false)
}

// "httpipc proxy" with no options admits this user only: another user
// (nobody) is refused; --allow-other-users opens it; --secret and the help
// name the defaults, and the log never shows the secret.
func TestProxyCommandDefaults(t *testing.T) {
	if code, _, out := runCLI("proxy", "--help"); code != 0 || !strings.Contains(out, "--allow-other-users") || !strings.Contains(out, "only that user's processes") {
		t.Errorf("proxy --help: %s", out)
	}
	if code, _, out := runCLI("login", "--help"); code != 0 || !strings.Contains(out, "one-time token") || !strings.Contains(out, "never the token endpoint") {
		t.Errorf("login --help: %s", out)
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "upstream") }))
	defer up.Close()
	addr := startServe(t, up.URL)

	_, _, _, errOut := cliProcess(t, "proxy", "--service", addr, "--secret")
	if line := waitLine(t, errOut, "proxy ready"); !strings.Contains(line, "/REDACTED ") || !strings.Contains(line, "--print-url prints") {
		t.Errorf("ready log: %s", line)
	}

	otheruser.Require(t)
	curl := testprog.Path(t, "curl", testprog.Clients)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "httpipc proxy: connection from uid 65534 refused: only this app's user may call\n 403"},
		{[]string{"--allow-other-users"}, "upstream 200"},
	} {
		_, _, out, _ := cliProcess(t, append([]string{"proxy", "--service", addr, "--print-url"}, tc.args...)...)
		base, err := out.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		got, _ := otheruser.Command(curl, "-sS", "-w", " %{http_code}", "-o", "-", strings.TrimSpace(base)+"/x").CombinedOutput()
		if string(got) != tc.want {
			t.Errorf("nobody, proxy %v: %q, want %q", tc.args, got, tc.want)
		}
	}
}
