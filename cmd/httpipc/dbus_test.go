//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDBusActivation runs a private session bus whose .service file starts
// "httpipc serve --listen dbus:NAME" on demand; "httpipc call dbus:NAME"
// then reaches the upstream through it.
func TestDBusActivation(t *testing.T) {
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		t.Skip("dbus-daemon not installed (Debian package dbus-daemon)")
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "upstream saw %s %s", r.Method, r.URL.Path)
	}))
	defer up.Close()
	dir, err := os.MkdirTemp("", "hb")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	services := filepath.Join(dir, "services")
	os.Mkdir(services, 0o700)
	os.WriteFile(filepath.Join(services, "org.httpipc.CLITest.service"), []byte(
		"[D-BUS Service]\nName=org.httpipc.CLITest\nExec="+os.Args[0]+"\n"), 0o644)
	busAddr := "unix:path=" + filepath.Join(dir, "bus")
	config := filepath.Join(dir, "bus.conf")
	os.WriteFile(config, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>`+busAddr+`</listen>
  <servicedir>`+services+`</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`), 0o644)
	args, _ := json.Marshal([]string{"serve", "--listen", "dbus:org.httpipc.CLITest", "--upstream", up.URL})
	cmd := exec.Command(daemon, "--config-file="+config, "--nofork", "--print-address=1")
	// What the bus passes to the provider it starts.
	cmd.Env = append(os.Environ(), "HTTPIPC_CLI_ARGS="+string(args), "DBUS_SESSION_BUS_ADDRESS="+busAddr)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	// The daemon prints its address once it listens.
	if _, err := fmt.Fscanln(out, new(string)); err != nil {
		t.Fatalf("dbus-daemon: %v", err)
	}
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
