package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/httpipc/httpipc/internal/bench"
)

func TestMain(m *testing.M) {
	bench.MaybeServe()
	// The demo starts its apps as "httpipc demo lms|online ...".
	if len(os.Args) > 2 && os.Args[1] == "demo" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
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
		if _, err := os.Stat(sock); err == nil {
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
	if _, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command("curl", "-sS", "-H", "X-Test: curl", "--unix-socket", strings.TrimPrefix(addr, "unix:"), "http://x/headers").CombinedOutput()
		if err != nil || string(out) != "curl " {
			t.Fatalf("curl: %v %q", err, out)
		}
	}
}

func TestBenchJSON(t *testing.T) {
	code, out, errOut := runCLI("bench", "--json", "--duration", "20ms", "--skip-1gib", "--stream-bytes", "1048576")
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
	// The browser: open the consent URL and follow the redirect back.
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get(strings.TrimSpace(authURL))
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
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var tok map[string]any
	if err := json.NewDecoder(loginOut).Decode(&tok); err != nil {
		t.Fatal(err)
	}
	if tok["ipc_service"] != sock || tok["access_token"] == "" || tok["refresh_token"] == nil {
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

// The demo on embedded defaults: every step works, and nothing is left
// behind.
func TestDemo(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	code, out, errOut := runCLI("demo", "--state", state)
	if code != 0 || !strings.Contains(out, "All steps worked.") {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"the redirect carries ipc-service=org.httpipc.demo.lms",
		"over IPC to org.httpipc.demo.lms -> Mathematics 7B, Science 7B",
		"the redirect carries no ipc-service",
		"are on the online server",
		"exited after 3s without requests",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
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
