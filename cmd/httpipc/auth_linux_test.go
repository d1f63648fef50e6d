//go:build linux

package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/httpipc/httpipc/internal/otheruser"
)

// "httpipc auth serve" admits this user and the uids of registered clients
// only. On an abstract socket, which no file permission guards, nobody is
// refused before any request; a client registered for nobody's uid while
// the server runs (another process on the same file) lets it in.
func TestAuthServeRefusesOtherUsers(t *testing.T) {
	otheruser.Require(t)
	exe := otheruser.Executable(t)
	db := filepath.Join(t.TempDir(), "auth.db")
	b := make([]byte, 8)
	rand.Read(b)
	sock := "unix:@httpipc-test-auth-" + hex.EncodeToString(b)
	_, _, _, serverErr := cliProcess(t, "auth", "serve", "--listen", sock, "--db", db)
	waitLine(t, serverErr, "authorization server ready")
	metadata := []string{"call", sock, "/.well-known/oauth-authorization-server"}
	// As nobody, through the test binary's CLI.
	asNobody := func() (bool, string) {
		argv, _ := json.Marshal(metadata)
		cmd := otheruser.Command(exe)
		cmd.Env = append(cmd.Env, "HTTPIPC_CLI_ARGS="+string(argv))
		out, err := cmd.CombinedOutput()
		return err == nil, string(out)
	}
	if ok, out := asNobody(); ok || !strings.Contains(out, "refused") {
		t.Fatalf("nobody on the abstract socket: ok=%v %s", ok, out)
	}
	if code, out, errOut := runCLI(metadata...); code != 0 || !strings.Contains(out, `"ipc_service"`) {
		t.Fatalf("this user: %d %s %s", code, out, errOut)
	}
	code, out, errOut := runCLI("auth", "client", "add", "--db", db, "--id", "nobody-app",
		"--redirect-uri", "http://127.0.0.1/callback", "--uid", "65534")
	if code != 0 {
		t.Fatalf("client add: %d %s %s", code, out, errOut)
	}
	if ok, out := asNobody(); !ok || !strings.Contains(out, `"ipc_service"`) {
		t.Fatalf("nobody as a registered client's uid: ok=%v %s", ok, out)
	}
}
