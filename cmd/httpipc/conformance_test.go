package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/internal/conformance"
	"github.com/httpipc/httpipc/internal/testwait"
)

// shortSocket returns a socket path short enough for sun_path.
func shortSocket(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "s.sock")
}

// startGoProvider serves an httpipc.Server whose handler echoes POST /echo
// and answers 404 elsewhere, and returns its address.
func startGoProvider(t *testing.T) string {
	t.Helper()
	return startGoProviderWith(t, func(*httpipc.Server) {})
}

// startRawProvider accepts connections and hands each to serve.
func startRawProvider(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	sock := shortSocket(t)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		testwait.Recv(t, done, 30*time.Second, "the listener's accept loop ending")
	})
	return "unix:" + sock
}

type jsonReport struct {
	Cases []conformance.Result `json:"cases"`
	conformance.Summary
}

func runConformanceJSON(t *testing.T, args ...string) (int, jsonReport) {
	t.Helper()
	code, out, stderr := runCLI(append([]string{"conformance", "--json"}, args...)...)
	var rep jsonReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("exit %d, output is not JSON: %v\n%s\n%s", code, err, out, stderr)
	}
	return code, rep
}

// knownDisagreements lists the cases the Go provider fails because it
// disagrees with docs/PROTOCOL.md, with what it does instead. When one is
// fixed, its entry goes.
var knownDisagreements = map[string]string{}

// startGoProviderWith is startGoProvider with deadlines set.
func startGoProviderWith(t *testing.T, configure func(*httpipc.Server)) string {
	t.Helper()
	sock := shortSocket(t)
	ln, err := httpipc.Listen("unix:" + sock)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		io.Copy(w, r.Body)
	})
	srv := &httpipc.Server{Handler: mux, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	configure(srv)
	done := make(chan struct{})
	go func() {
		srv.Serve(ln)
		close(done)
	}()
	t.Cleanup(func() {
		srv.Close()
		testwait.Recv(t, done, 30*time.Second, "the provider stopping")
	})
	return "unix:" + sock
}

func TestConformance(t *testing.T) {
	tests := []struct {
		name      string
		configure func(*httpipc.Server)
		args      []string
		wantSkip  map[string]bool // cases skipped without --slow being the reason
	}{
		{"default", func(*httpipc.Server) {}, []string{"--echo", "/echo"}, nil},
		{
			// The deadline cases, against deadlines short enough for a test.
			"slow",
			func(s *httpipc.Server) {
				s.PrefaceTimeout, s.ReadHeaderTimeout = 200*time.Millisecond, 400*time.Millisecond
			},
			[]string{"--slow", "--preface-timeout", "200ms", "--read-header-timeout", "400ms", "--run", "timeout"}, nil,
		},
		{
			// A provider that does not offer HTTP/1.1 says so, and the
			// fallback case is skipped.
			"no-http1", func(s *httpipc.Server) { s.DisableHTTP1 = true }, []string{"--run", "^8$"},
			map[string]bool{"http1-fallback": true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := startGoProviderWith(t, tt.configure)
			code, rep := runConformanceJSON(t, append(tt.args, addr)...)
			failed := 0
			for _, r := range rep.Cases {
				t.Run(r.Name, func(t *testing.T) {
					known, isKnown := knownDisagreements[r.Name]
					switch {
					case r.Status == conformance.Fail && isKnown:
						failed++
						t.Logf("known disagreement: %s", known)
					case r.Status == conformance.Fail:
						failed++
						t.Errorf("section %s: %s\n%s", r.Section, r.Description, r.Detail)
					case isKnown:
						t.Errorf("%v, but listed in knownDisagreements: remove it", r.Status)
					case tt.wantSkip[r.Name] && r.Status != conformance.Skipped:
						t.Errorf("%v (%s), want SKIP", r.Status, r.Detail)
					case r.Status == conformance.Skipped && !strings.Contains(r.Detail, "--slow") && !tt.wantSkip[r.Name]:
						t.Errorf("skipped: %s", r.Detail)
					}
				})
			}
			if rep.Passed == 0 || rep.Failed != failed || (code == 0) != (failed == 0) {
				t.Fatalf("exit %d, %d passed, %d failed", code, rep.Passed, rep.Failed)
			}
		})
	}
}

func TestConformanceText(t *testing.T) {
	addr := startGoProvider(t)
	code, out, stderr := runCLI("conformance", "--run", "^(preface|echo-chunks|http1-fallback)$", addr)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	for _, want := range []string{
		"PASS  6               preface: ",
		"SKIP  3 rule 8        echo-chunks: ",
		"needs a handler that echoes POST content (--echo PATH)",
		"PASS  8               http1-fallback: ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`(?m)^2 passed, 0 failed, 1 skipped$`).MatchString(out) {
		t.Errorf("no summary line:\n%s", out)
	}
}

// writeRaw writes bytes, ignoring errors: a broken provider.
func writeRaw(c net.Conn, b []byte) { _, _ = c.Write(b) }

var uppercaseResponse = []byte{
	0x89, 'I', 'P', 'C', '\r', '\n', 0x1a, '\n', 1, // server preface, version 1
	3, 0x40, 200, 5, 'X', '-', 'B', 'a', 'd', 1, '1', 0, // 200, header "X-Bad: 1"
	0, 0, // no content, no trailer
}

func TestConformanceBrokenProviders(t *testing.T) {
	tests := []struct {
		name     string
		serve    func(net.Conn)
		wantFail []string
		wantPass []string
	}{
		{
			name:     "garbage",
			serve:    func(c net.Conn) { writeRaw(c, []byte("garbage\r\n")) },
			wantFail: []string{"preface", "refuse-bad-magic", "response-complete", "malformed-uppercase-name", "http1-fallback", "http1-other-first-byte"},
		},
		{
			// Accepts any preface and answers every connection with one
			// response whose field name is uppercase, then closes.
			name: "never-refuses-uppercase-fields",
			serve: func(c net.Conn) {
				io.ReadFull(c, make([]byte, 10))
				writeRaw(c, uppercaseResponse)
			},
			wantFail: []string{"refuse-min-above-max", "refuse-unsupported-version", "refuse-bad-magic", "preface", "response-fields", "malformed-uppercase-name"},
		},
		{
			// Answers a refusal to every connection, which is right only
			// for the refusal cases.
			name: "always-refuses",
			serve: func(c net.Conn) {
				io.ReadFull(c, make([]byte, 10))
				writeRaw(c, append([]byte{0x89, 'I', 'P', 'C', '\r', '\n', 0x1a, '\n', 0, 4}, "busy"...))
			},
			wantFail: []string{"preface", "version-range", "same-user-admitted", "pipelined"},
			wantPass: []string{"refuse-min-above-max", "refuse-unsupported-version", "refuse-bad-magic"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := startRawProvider(t, tt.serve)
			code, rep := runConformanceJSON(t, "--timeout", "2s", addr)
			if code != 1 || rep.Failed == 0 {
				t.Errorf("exit %d with %d failures, want 1", code, rep.Failed)
			}
			status := map[string]conformance.Result{}
			for _, r := range rep.Cases {
				status[r.Name] = r
			}
			for _, name := range tt.wantFail {
				if r := status[name]; r.Status != conformance.Fail {
					t.Errorf("%s: %v (%s), want FAIL", name, r.Status, r.Detail)
				} else if r.Detail == "" {
					t.Errorf("%s failed without a reason", name)
				}
			}
			for _, name := range tt.wantPass {
				if r := status[name]; r.Status != conformance.Pass {
					t.Errorf("%s: %v (%s), want PASS", name, r.Status, r.Detail)
				}
			}
		})
	}
}

func TestConformanceUsage(t *testing.T) {
	tests := []struct {
		args     []string
		wantCode int
		wantOut  string
	}{
		{[]string{"--help"}, 0, "--echo"},
		{nil, 2, "want one ADDR"},
		{[]string{"--echo", "echo", "unix:/tmp/x.sock"}, 2, "must start with /"},
		{[]string{"--run", "(", "unix:/tmp/x.sock"}, 2, "--run"},
		{[]string{"fd:3"}, 2, "single connection"},
		{[]string{"unix:relative"}, 1, "must be absolute"},
		{[]string{"--list"}, 0, "header-too-large"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, stderr := runCLI(append([]string{"conformance"}, tt.args...)...)
			if code != tt.wantCode || !strings.Contains(out+stderr, tt.wantOut) {
				t.Errorf("exit %d, want %d; output lacks %q?\n%s%s", code, tt.wantCode, tt.wantOut, out, stderr)
			}
		})
	}
}
