// Package testbus starts a private D-Bus session bus for tests, with a
// services directory so that the bus starts providers by name.
package testbus

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Start runs dbus-daemon until the test ends and returns its address.
// services maps bus names to the program the bus runs to start them; env is
// added to the daemon's environment, which the programs it starts inherit.
// The test is skipped when dbus-daemon is not installed.
func Start(t testing.TB, services map[string]string, env ...string) string {
	t.Helper()
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		t.Skip("dbus-daemon not installed (Debian package dbus-daemon)")
	}
	// A short directory keeps the socket path within the Unix limit.
	dir, err := os.MkdirTemp("", "bus")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	svcDir := filepath.Join(dir, "services")
	if err := os.Mkdir(svcDir, 0o700); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(services))
	for name := range services {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		// The group name is case-sensitive: "D-BUS Service".
		unit := fmt.Sprintf("[D-BUS Service]\nName=%s\nExec=%s\n", name, services[name])
		if err := os.WriteFile(filepath.Join(svcDir, name+".service"), []byte(unit), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	addr := "unix:path=" + filepath.Join(dir, "bus")
	config := filepath.Join(dir, "bus.conf")
	conf := strings.Join([]string{
		`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"`,
		` "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">`,
		`<busconfig>`,
		`  <type>session</type>`,
		`  <listen>` + addr + `</listen>`,
		`  <servicedir>` + svcDir + `</servicedir>`,
		`  <policy context="default">`,
		`    <allow send_destination="*" eavesdrop="true"/>`,
		`    <allow eavesdrop="true"/>`,
		`    <allow own="*"/>`,
		`  </policy>`,
		`</busconfig>`, ""}, "\n")
	if err := os.WriteFile(config, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(daemon, "--config-file="+config, "--nofork", "--print-address=1")
	cmd.Env = append(append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+addr), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// The daemon prints its address once it listens.
	if _, err := fmt.Fscanln(out, new(string)); err != nil {
		t.Fatalf("dbus-daemon did not start: %v", err)
	}
	return addr
}
