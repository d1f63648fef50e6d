//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/httpipc/httpipc/examples/lms"
	"github.com/httpipc/httpipc/internal/syncbuf"
)

func TestMain(m *testing.M) {
	// The demo starts its apps as this program: "lms ..." and "online ...".
	if len(os.Args) > 1 && (os.Args[1] == "lms" || os.Args[1] == "online") {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func runDemoCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "go run ./examples/demo"},
		{[]string{"--frobnicate"}, 2, "flag provided but not defined"},
		{[]string{"extra"}, 2, `unexpected argument "extra"`},
	} {
		code, _, errOut := runDemoCLI(tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tt.args, code, errOut, tt.code, tt.want)
		}
	}
}

// The demo on embedded defaults: every step works, and nothing is left
// behind.
func TestDemo(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	code, out, errOut := runDemoCLI("--state", state)
	if code != 0 || !strings.Contains(out, "All steps worked.") {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"the redirect carries ipc-service=org.httpipc.demo.lms",
		"over IPC to org.httpipc.demo.lms -> Mathematics 7B, Science 7B",
		"the redirect carries no ipc-service",
		"the LMS app was started on demand: pid",
		"are on the online server",
		"exited after 3s without requests",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	checkGone(t, out, state)
}

// checkGone checks that no process the demo started is left: the online
// server, the LMS app, and any LMS app started later.
func checkGone(t *testing.T, out, state string) {
	t.Helper()
	var pids []int
	for _, m := range regexp.MustCompile(`\(pid (\d+)\)|started on demand: pid (\d+)`).FindAllStringSubmatch(out, -1) {
		pid, _ := strconv.Atoi(m[1] + m[2])
		pids = append(pids, pid)
	}
	if pid, err := lmsPID(state); err == nil {
		pids = append(pids, pid)
	}
	if len(pids) < 2 {
		t.Errorf("the process ids of the online server and the LMS app are not in:\n%s", out)
	}
	for _, pid := range pids {
		// Gone, once whoever started it has collected its exit status.
		for deadline := time.Now().Add(2 * time.Second); alive(pid); {
			if time.Now().After(deadline) {
				t.Errorf("process %d is still running", pid)
				break
			}
			<-time.After(20 * time.Millisecond)
		}
	}
}

// With --keep the demo runs until stopped, and prints a cmi5 launch URL
// that works: its launch parameters are there, and the AU's fetch and
// xAPI endpoint reach the LMS through the math app's localhost proxy,
// which starts the LMS app again after it exited idle. Stopped, it leaves
// nothing behind, also not the LMS app started later.
func TestDemoKeep(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncbuf.Buffer
	done := make(chan int, 1)
	go func() { done <- runContext(ctx, []string{"--state", state, "--keep"}, &out, &errOut) }()
	exited := false
	stop := func() int {
		cancel()
		if exited {
			return 0
		}
		exited = true
		select {
		case code := <-done:
			return code
		case <-time.After(time.Minute):
			t.Fatalf("the demo did not stop within a minute of being told to:\n%s", out.String())
			return 0
		}
	}
	defer stop()

	var launch string
	for deadline := time.Now().Add(2 * time.Minute); launch == ""; {
		for _, line := range strings.Split(out.String(), "\n") {
			if u, ok := strings.CutPrefix(line, "cmi5 launch: "); ok {
				launch = u
			}
		}
		select {
		case code := <-done:
			exited = true
			t.Fatalf("the demo exited (%d) before printing its cmi5 launch:\n%s\n%s", code, out.String(), errOut.String())
		case <-time.After(20 * time.Millisecond):
		}
		if launch == "" && time.Now().After(deadline) {
			t.Fatalf("no cmi5 launch line within two minutes:\n%s", out.String())
		}
	}
	u, err := url.Parse(launch)
	if err != nil {
		t.Fatalf("cmi5 launch URL %q: %v", launch, err)
	}
	q := u.Query()
	for _, p := range []string{"endpoint", "fetch", "actor", "registration", "activityId", "ipc-service"} {
		if q.Get(p) == "" {
			t.Errorf("the cmi5 launch URL has no %s: %s", p, launch)
		}
	}
	endpoint, fetch := q.Get("endpoint"), q.Get("fetch")
	if q.Get("ipc-service") != demoService || !strings.HasPrefix(endpoint, "http://127.0.0.1:") || !strings.HasSuffix(endpoint, "/xapi/") ||
		!strings.HasPrefix(fetch, strings.TrimSuffix(endpoint, "/xapi/")+lms.Cmi5FetchPath) {
		t.Fatalf("cmi5 launch URL %s: endpoint %q, fetch %q, ipc-service %q", launch, endpoint, fetch, q.Get("ipc-service"))
	}

	// The LMS app exits when idle; the AU's first request starts it again.
	first, err := lmsPID(state)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); alive(first); <-time.After(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the LMS app (pid %d) did not exit when idle", first)
		}
	}

	// The AU's requests, through the proxy.
	client := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	do := func(method, u, auth string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, u, nil)
		req.Header.Set("X-Experience-API-Version", lms.XAPIVersion)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, u, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := do("POST", fetch, "")
	var tok map[string]string
	json.Unmarshal([]byte(body), &tok)
	if code != 200 || tok["auth-token"] == "" {
		t.Fatalf("POST fetch: %d %s", code, body)
	}
	if again, err := lmsPID(state); err != nil || again == first || !alive(again) {
		t.Errorf("the LMS app was not started again: pid %d (first %d), %v", again, first, err)
	}
	if code, body := do("POST", fetch, ""); code != 400 || !strings.Contains(body, `"error-code":"1"`) {
		t.Errorf("second POST fetch: %d %s", code, body)
	}
	auth := "Basic " + tok["auth-token"]
	if code, body := do("GET", endpoint+"about", auth); code != 200 || !strings.Contains(body, lms.XAPIVersion) {
		t.Errorf("GET about with the auth token: %d %s", code, body)
	}
	launchData := endpoint + "activities/state?" + url.Values{"activityId": {q.Get("activityId")}, "agent": {q.Get("actor")},
		"registration": {q.Get("registration")}, "stateId": {lms.Cmi5LaunchDataID}}.Encode()
	if code, body := do("GET", launchData, auth); code != 200 || !strings.Contains(body, `"launchMode"`) {
		t.Errorf("GET LMS.LaunchData with the auth token: %d %s", code, body)
	}
	if code, body := do("GET", launchData, ""); code != 401 {
		t.Errorf("GET LMS.LaunchData without a token: %d %s", code, body)
	}
	client.CloseIdleConnections()

	if code := stop(); code != 0 || !strings.Contains(out.String(), "All steps worked.") {
		t.Fatalf("stopped: exit %d:\n%s\n%s", code, out.String(), errOut.String())
	}
	checkGone(t, out.String(), state)
}
