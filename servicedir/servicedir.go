// Package servicedir reads the local service directory: one small JSON file
// per service, NAME.json, that says where the provider of a service name
// listens and how to start it on demand.
//
//	{
//	  "name":   "org.example.lms",
//	  "socket": "unix:/run/user/1000/httpipc/org.example.lms.sock",
//	  "exec":   ["/usr/bin/lms-provider", "serve"],
//	  "env":    {"LMS_DB": "/home/u/lms.db"},
//	  "uid":    1000
//	}
//
// Only "name" is required. The directories searched follow the XDG Base
// Directory conventions; see Dirs.
package servicedir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/httpipc/httpipc/address"
	"github.com/httpipc/httpipc/transport"
)

// Errors returned by Lookup and ParseEntry.
var (
	ErrNotFound = errors.New("servicedir: service not found")
	ErrInvalid  = errors.New("servicedir: invalid service entry")
)

// maxEntrySize bounds a service file.
const maxEntrySize = 64 << 10

// Entry is one service of the directory.
type Entry struct {
	// Name is the service name, e.g. "org.example.lms".
	Name string
	// Socket is where the provider listens (a unix: address).
	Socket address.Address
	// Exec is the program and arguments that start the provider; empty when
	// it cannot be started on demand.
	Exec []string
	// Env is extra environment for Exec.
	Env map[string]string
	// UID, when set, is the user id the provider must run as.
	UID *int
	// File is the path the entry was read from.
	File string
}

type entryJSON struct {
	Name   string            `json:"name"`
	Socket string            `json:"socket,omitempty"`
	Exec   []string          `json:"exec,omitempty"`
	Env    map[string]string `json:"env,omitempty"`
	UID    *int              `json:"uid,omitempty"`
}

// Directory looks up services. The zero value uses the process environment.
type Directory struct {
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
}

// At returns a Directory that searches only dir (as if
// $HTTPIPC_SERVICE_PATH were dir), reading the rest of the environment from
// the process: for an app that keeps its own services, and for tests.
func At(dir string) Directory {
	return Directory{Getenv: func(k string) string {
		if k == "HTTPIPC_SERVICE_PATH" {
			return dir
		}
		return os.Getenv(k)
	}}
}

func (d Directory) getenv(k string) string {
	if d.Getenv != nil {
		return d.Getenv(k)
	}
	return os.Getenv(k)
}

// Dirs returns the directories searched, in order: each of
// $HTTPIPC_SERVICE_PATH (colon-separated) if it is set; otherwise
// $XDG_DATA_HOME/httpipc/services (default ~/.local/share/httpipc/services)
// followed by DIR/httpipc/services for each DIR of $XDG_DATA_DIRS (default
// /usr/local/share:/usr/share).
func Dirs(getenv func(string) string) []string {
	if getenv == nil {
		getenv = os.Getenv
	}
	if p := getenv("HTTPIPC_SERVICE_PATH"); p != "" {
		return splitPath(p)
	}
	var dirs []string
	home := getenv("XDG_DATA_HOME")
	if home == "" || !filepath.IsAbs(home) {
		if h := getenv("HOME"); h != "" {
			home = filepath.Join(h, ".local", "share")
		} else {
			home = ""
		}
	}
	if home != "" {
		dirs = append(dirs, filepath.Join(home, "httpipc", "services"))
	}
	data := getenv("XDG_DATA_DIRS")
	if data == "" {
		data = "/usr/local/share:/usr/share"
	}
	for _, d := range splitPath(data) {
		dirs = append(dirs, filepath.Join(d, "httpipc", "services"))
	}
	return dirs
}

func splitPath(p string) []string {
	var out []string
	for _, d := range strings.Split(p, string(os.PathListSeparator)) {
		if d != "" && filepath.IsAbs(d) {
			out = append(out, d)
		}
	}
	return out
}

// DefaultSocket is where the provider of name listens when its entry names
// no socket: $XDG_RUNTIME_DIR/httpipc/NAME.sock, or, without
// XDG_RUNTIME_DIR, TMPDIR/httpipc-UID/NAME.sock
// (transport.FallbackRuntimeDir). Whoever creates the socket there
// (transport.ListenUnix, activation.Launch) refuses that fallback directory
// unless it is a directory owned by this user with mode 0700, with an error
// wrapping transport.ErrUnsafePath: anyone can create a directory of that
// name first.
func DefaultSocket(name string, getenv func(string) string) address.Address {
	if getenv == nil {
		getenv = os.Getenv
	}
	dir := getenv("XDG_RUNTIME_DIR")
	if dir == "" || !filepath.IsAbs(dir) {
		dir = transport.FallbackRuntimeDir()
	} else {
		dir = filepath.Join(dir, "httpipc")
	}
	return address.Address{Kind: address.Unix, Path: filepath.Join(dir, name+".sock")}
}

// Lookup finds the entry of service name.
func (d Directory) Lookup(name string) (*Entry, error) {
	a, err := address.Parse(name)
	if err != nil || a.Kind != address.Name {
		return nil, fmt.Errorf("%w: %q is not a service name", ErrInvalid, name)
	}
	dirs := Dirs(d.getenv)
	for _, dir := range dirs {
		file := filepath.Join(dir, name+".json")
		data, err := readLimited(file)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, file, err)
		}
		e, err := parse(name, data, d.getenv)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		e.File = file
		return e, nil
	}
	return nil, fmt.Errorf("%w: no %s.json in %s", ErrNotFound, name, strings.Join(dirs, ", "))
}

func readLimited(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxEntrySize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxEntrySize {
		return nil, fmt.Errorf("file is larger than %d bytes", maxEntrySize)
	}
	return data, nil
}

// ParseEntry decodes the entry of service name from data.
func ParseEntry(name string, data []byte) (*Entry, error) {
	return parse(name, data, os.Getenv)
}

func parse(name string, data []byte, getenv func(string) string) (*Entry, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w %s: %s", ErrInvalid, name, fmt.Sprintf(format, args...))
	}
	if len(data) > maxEntrySize {
		return nil, bad("larger than %d bytes", maxEntrySize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var j entryJSON
	if err := dec.Decode(&j); err != nil {
		return nil, bad("%v", err)
	}
	if dec.More() {
		return nil, bad("more than one JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, bad("data after the JSON object")
	}
	if j.Name != name {
		return nil, bad("field name is %q but the file is for %q", j.Name, name)
	}
	if a, err := address.Parse(j.Name); err != nil || a.Kind != address.Name {
		return nil, bad("name %q is not a service name", j.Name)
	}
	e := &Entry{Name: j.Name, Exec: j.Exec, Env: j.Env, UID: j.UID}
	if j.Socket == "" {
		e.Socket = DefaultSocket(name, getenv)
	} else {
		a, err := address.Parse(j.Socket)
		if err != nil {
			return nil, bad("socket: %v", err)
		}
		if a.Kind != address.Unix && a.Kind != address.Abstract {
			return nil, bad("socket %q must be a unix: address", j.Socket)
		}
		e.Socket = a
	}
	if j.Exec != nil {
		if len(j.Exec) == 0 || !filepath.IsAbs(j.Exec[0]) {
			return nil, bad("exec[0] must be the absolute path of the program")
		}
		for i, arg := range j.Exec {
			if strings.ContainsRune(arg, 0) {
				return nil, bad("exec[%d] contains a NUL byte", i)
			}
		}
	}
	for k, v := range j.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			return nil, bad("env key %q is not a valid variable name", k)
		}
	}
	if j.UID != nil && *j.UID < 0 {
		return nil, bad("uid %d is negative", *j.UID)
	}
	return e, nil
}

// Install writes e as DIR/NAME.json, atomically and with mode 0644.
func (d Directory) Install(dir string, e *Entry) error {
	j := entryJSON{Name: e.Name, Exec: e.Exec, Env: e.Env, UID: e.UID}
	if e.Socket.Kind != 0 {
		j.Socket = e.Socket.String()
	}
	data, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	if _, err := parse(e.Name, data, d.getenv); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+e.Name+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, e.Name+".json"))
}
