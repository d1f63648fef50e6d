//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/httpipc/httpipc/internal/testbus"
)

// TestDBusActivation runs a private session bus whose .service file starts
// "httpipc serve --listen dbus:NAME" on demand; "httpipc call dbus:NAME"
// then reaches the upstream through it.
func TestDBusActivation(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "upstream saw %s %s", r.Method, r.URL.Path)
	}))
	defer up.Close()
	// What the bus passes to the provider it starts.
	args, _ := json.Marshal([]string{"serve", "--listen", "dbus:org.httpipc.CLITest", "--upstream", up.URL})
	busAddr := testbus.Start(t, map[string]string{"org.httpipc.CLITest": os.Args[0]}, "HTTPIPC_CLI_ARGS="+string(args))
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", busAddr)
	code, stdout, stderr := runCLI("call", "-X", "PUT", "-d", "x", "dbus:org.httpipc.CLITest", "/lessons/1")
	if code != 0 || stdout != "upstream saw PUT /lessons/1" {
		t.Fatalf("exit %d, %q, %s", code, stdout, stderr)
	}
	code, _, stderr = runCLI("call", "dbus:lms", "/")
	if code == 0 || !strings.Contains(stderr, "bus name") {
		t.Fatalf("bad bus name: exit %d, %s", code, stderr)
	}
}
