//go:build unix

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
}
