//go:build linux

package activation

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/httpipc/httpipc/address"
	"github.com/httpipc/httpipc/servicedir"
)

func TestLaunchRefuses(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "data")
	os.WriteFile(file, []byte("keep"), 0o644)
	tests := []struct {
		name  string
		entry servicedir.Entry
		want  error
	}{
		{"no exec", servicedir.Entry{Name: "org.x.a", Socket: address.Address{Kind: address.Unix, Path: filepath.Join(dir, "a.sock")}}, ErrNoExec},
		{"regular file at the socket path", servicedir.Entry{Name: "org.x.b", Socket: address.Address{Kind: address.Unix, Path: file}, Exec: []string{"/bin/true"}}, nil},
		{"not a unix socket", servicedir.Entry{Name: "org.x.c", Socket: address.Address{Kind: address.FD, FD: 3}, Exec: []string{"/bin/true"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Launch(context.Background(), &tt.entry)
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want an error (%v)", err, tt.want)
			}
		})
	}
	if b, _ := os.ReadFile(file); string(b) != "keep" {
		t.Fatal("Launch touched a regular file")
	}
}

func TestLaunchEnv(t *testing.T) {
	t.Setenv("LISTEN_FDS", "7")
	t.Setenv("KEEP", "yes")
	e := &servicedir.Entry{Name: "org.x.env", Env: map[string]string{"KEEP": "override", "EXTRA": "1"}}
	env := map[string]int{}
	for _, kv := range launchEnv(e) {
		env[kv]++
	}
	for _, want := range []string{"LISTEN_FDS=1", "LISTEN_FDNAMES=org.x.env", LaunchedEnv + "=1", "KEEP=override", "EXTRA=1"} {
		if env[want] != 1 {
			t.Errorf("missing %s", want)
		}
	}
	if env["LISTEN_FDS=7"] != 0 || env["KEEP=yes"] != 0 {
		t.Error("inherited variables not replaced")
	}
}

func TestNotActivated(t *testing.T) {
	t.Setenv("LISTEN_PID", "")
	t.Setenv("LISTEN_FDS", "")
	lns, err := Listeners()
	if err != nil || len(lns) != 0 {
		t.Fatalf("got %v, %v", lns, err)
	}
}
