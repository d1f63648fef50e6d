// Package testbus starts a private D-Bus session bus for tests and
// benchmarks, with a services directory so that the bus starts providers by
// name.
package testbus

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/httpipc/httpipc/internal/testprog"
)

// ErrNoDaemon means dbus-daemon is not installed.
var ErrNoDaemon = errors.New("dbus-daemon not installed (Debian package dbus-daemon)")

// Start runs dbus-daemon until the test ends and returns its address.
// services maps bus names to the program the bus runs to start them; env is
// added to the daemon's environment, which the programs it starts inherit.
// The test is skipped when dbus-daemon is not installed, or fails when
// HTTPIPC_REQUIRE_DBUS is set (testprog.DBus).
func Start(t testing.TB, services map[string]string, env ...string) string {
	t.Helper()
	return StartOptions(t, Options{Services: services, Env: env})
}

// Options configures a bus.
type Options struct {
	// Services maps bus names to the program the bus runs to start them.
	Services map[string]string
	// Env is added to the daemon's environment, which the programs it
	// starts inherit.
	Env []string
	// OtherUsers lets processes of any user connect to the bus and own
	// names, as on a shared bus: for the two-user tests, in which the
	// other user plays a rogue provider or caller.
	OtherUsers bool
}

// StartOptions is Start with more options.
func StartOptions(t testing.TB, opt Options) string {
	t.Helper()
	b, err := LaunchOptions(opt)
	if errors.Is(err, ErrNoDaemon) {
		testprog.Missing(t, testprog.DBus, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b.Addr
}

// Bus is a running private bus.
type Bus struct {
	// Addr is the bus address, for dbus.Connect.
	Addr string
	cmd  *exec.Cmd
	dir  string
}

// Close stops the daemon and removes its files.
func (b *Bus) Close() {
	b.cmd.Process.Kill()
	b.cmd.Wait()
	os.RemoveAll(b.dir)
}

// Launch runs dbus-daemon as Start does, until Close.
func Launch(services map[string]string, env ...string) (*Bus, error) {
	return LaunchOptions(Options{Services: services, Env: env})
}

// LaunchOptions runs dbus-daemon as StartOptions does, until Close.
func LaunchOptions(opt Options) (*Bus, error) {
	services, env := opt.Services, opt.Env
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		return nil, ErrNoDaemon
	}
	// A short directory keeps the socket path within the Unix limit.
	dir, err := os.MkdirTemp("", "bus")
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Bus, error) {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("testbus: %w", err)
	}
	allowUsers := ""
	if opt.OtherUsers {
		// Other users must reach the socket in it; the services
		// directory stays closed.
		if err := os.Chmod(dir, 0o755); err != nil {
			return fail(err)
		}
		allowUsers = `    <allow user="*"/>`
	}
	svcDir := filepath.Join(dir, "services")
	if err := os.Mkdir(svcDir, 0o700); err != nil {
		return fail(err)
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
			return fail(err)
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
		allowUsers,
		`  </policy>`,
		`</busconfig>`, ""}, "\n")
	if err := os.WriteFile(config, []byte(conf), 0o644); err != nil {
		return fail(err)
	}
	cmd := exec.Command(daemon, "--config-file="+config, "--nofork", "--print-address=1")
	cmd.Env = append(append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+addr), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fail(err)
	}
	if err := cmd.Start(); err != nil {
		return fail(err)
	}
	b := &Bus{Addr: addr, cmd: cmd, dir: dir}
	// The daemon prints its address once it listens.
	if _, err := fmt.Fscanln(out, new(string)); err != nil {
		b.Close()
		return nil, fmt.Errorf("testbus: dbus-daemon did not start: %w", err)
	}
	return b, nil
}
