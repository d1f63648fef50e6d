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
