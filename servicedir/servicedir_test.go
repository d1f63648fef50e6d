package servicedir

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/httpipc/httpipc/address"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDirs(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{"HTTPIPC_SERVICE_PATH": "/a:/b:relative:"}, []string{"/a", "/b"}},
		{map[string]string{"HOME": "/home/u"}, []string{"/home/u/.local/share/httpipc/services", "/usr/local/share/httpipc/services", "/usr/share/httpipc/services"}},
		{map[string]string{"XDG_DATA_HOME": "/x", "XDG_DATA_DIRS": "/d1:/d2"}, []string{"/x/httpipc/services", "/d1/httpipc/services", "/d2/httpipc/services"}},
	}
	for _, tt := range tests {
		if got := Dirs(env(tt.env)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Dirs(%v) = %v, want %v", tt.env, got, tt.want)
		}
	}
}

func TestParseEntry(t *testing.T) {
	good, err := os.ReadFile("testdata/org.example.lms.json")
	if err != nil {
		t.Fatal(err)
	}
	e, err := ParseEntry("org.example.lms", good)
	if err != nil {
		t.Fatal(err)
	}
	if e.Socket.Path != "/run/user/1000/httpipc/org.example.lms.sock" || e.Exec[0] != "/usr/bin/lms-provider" || *e.UID != 1000 || e.Env["LMS_DB"] == "" {
		t.Fatalf("parsed %+v", e)
	}
	tests := []struct {
		name, data, want string
	}{
		{"unknown field", `{"name":"org.example.lms","sockt":"unix:/a"}`, "unknown field"},
		{"name mismatch", `{"name":"org.example.other"}`, "file is for"},
		{"relative exec", `{"name":"org.example.lms","exec":["lms"]}`, "absolute path"},
		{"empty exec", `{"name":"org.example.lms","exec":[]}`, "absolute path"},
		{"tcp socket", `{"name":"org.example.lms","socket":"fd:3"}`, "unix: address"},
		{"bad socket", `{"name":"org.example.lms","socket":"unix:x"}`, "absolute"},
		{"two values", `{"name":"org.example.lms"} {}`, "more than one"},
		{"trailing garbage", `{"name":"org.example.lms"} x`, ""},
		{"bad env", `{"name":"org.example.lms","env":{"A=B":"c"}}`, "env key"},
		{"negative uid", `{"name":"org.example.lms","uid":-1}`, "negative"},
		{"not json", `name = org.example.lms`, "invalid"},
		{"too big", `{"name":"org.example.lms","exec":["/x","` + strings.Repeat("a", maxEntrySize) + `"]}`, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEntry("org.example.lms", []byte(tt.data))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want ErrInvalid containing %q", err, tt.want)
			}
		})
	}
}

func TestLookupAndInstall(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	d := Directory{Getenv: env(map[string]string{"HTTPIPC_SERVICE_PATH": first + ":" + second, "XDG_RUNTIME_DIR": "/run/user/7"})}
	if _, err := d.Lookup("org.example.lms"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty directory: %v", err)
	}
	if err := d.Install(second, &Entry{Name: "org.example.lms", Exec: []string{"/bin/true"}}); err != nil {
		t.Fatal(err)
	}
	e, err := d.Lookup("org.example.lms")
	if err != nil {
		t.Fatal(err)
	}
	want := address.Address{Kind: address.Unix, Path: "/run/user/7/httpipc/org.example.lms.sock"}
	if e.Socket != want || e.File != filepath.Join(second, "org.example.lms.json") {
		t.Fatalf("got %+v", e)
	}
	// The first directory wins.
	if err := d.Install(first, &Entry{Name: "org.example.lms", Socket: address.Address{Kind: address.Unix, Path: "/tmp/x.sock"}}); err != nil {
		t.Fatal(err)
	}
	if e, err = d.Lookup("org.example.lms"); err != nil || e.Socket.Path != "/tmp/x.sock" {
		t.Fatalf("got %+v %v", e, err)
	}
	if _, err := d.Lookup("../etc/passwd"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("path traversal: %v", err)
	}
	os.WriteFile(filepath.Join(first, "org.example.bad.json"), []byte("{"), 0o644)
	if _, err := d.Lookup("org.example.bad"); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "org.example.bad.json") {
		t.Fatalf("bad file: %v", err)
	}
}

func FuzzParseEntry(f *testing.F) {
	good, _ := os.ReadFile("testdata/org.example.lms.json")
	f.Add(good)
	f.Add([]byte(`{"name":"org.example.lms"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseEntry("org.example.lms", data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if e.Name != "org.example.lms" || (e.Socket.Kind != address.Unix && e.Socket.Kind != address.Abstract) {
			t.Fatalf("accepted %+v", e)
		}
	})
}
