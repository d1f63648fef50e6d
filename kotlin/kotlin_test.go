// Package kotlin_test builds and tests the Kotlin/JVM implementation with
// Maven (its own unit, vector and cross-implementation tests), then checks
// it against the Go implementation in real processes over Unix sockets: the
// Go client against the Kotlin provider, here; the Kotlin client against
// the Go provider, in the Maven tests, which get the Go command's path.
//
// Without Maven or a JDK the tests skip, unless HTTPIPC_REQUIRE_KOTLIN is
// set (as .ci/run does): then they fail.
package kotlin_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/httpipc/httpipc"
)

// build is what TestMain made: the Go command and the JVM command.
var build struct {
	goCmd  string // the httpipc command
	jar    string // kotlin/core/target/httpipc-jvm.jar
	java   string
	mvnOut string // Maven's output
	err    error  // why the build failed, or nil
	skip   string // why there is nothing to build with
}

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.list"); f != nil && f.Value.String() != "" {
		os.Exit(m.Run()) // listing the tests builds nothing
	}
	code := func() int {
		dir, err := os.MkdirTemp("", "httpipc-kotlin-")
		if err != nil {
			build.err = err
			return m.Run()
		}
		defer os.RemoveAll(dir)
		setUp(dir)
		return m.Run()
	}()
	os.Exit(code)
}

// setUp builds the Go command and starts two Go providers in this process,
// then runs Maven: the Kotlin tests (which use the command and call the
// providers) and the jar.
func setUp(dir string) {
	mvn, err1 := exec.LookPath("mvn")
	java, err2 := exec.LookPath("java")
	if err := errors.Join(err1, err2); err != nil {
		build.skip = "the Kotlin implementation needs Maven and a JDK: " + err.Error()
		return
	}
	build.java = java
	build.goCmd = filepath.Join(dir, "httpipc")
	if out, err := exec.Command("go", "build", "-o", build.goCmd, "github.com/httpipc/httpipc/cmd/httpipc").CombinedOutput(); err != nil {
		build.err = fmt.Errorf("go build ./cmd/httpipc: %v\n%s", err, out)
		return
	}
	served, refusing, stop, err := startGoProviders(dir)
	if err != nil {
		build.err = err
		return
	}
	defer stop()
	args := []string{"-B", "-f", "pom.xml", "-Dhttpipc.go=" + build.goCmd,
		"-Dhttpipc.goProvider=" + served, "-Dhttpipc.goRefusing=" + refusing, "package"}
	if os.Getenv("HTTPIPC_MAVEN_OFFLINE") != "" {
		args = append(args, "-o")
	}
	cmd := exec.Command(mvn, args...)
	out, err := cmd.CombinedOutput()
	build.mvnOut = string(out)
	if err != nil {
		build.err = fmt.Errorf("mvn %s: %v", strings.Join(args, " "), err)
		return
	}
	build.jar, _ = filepath.Abs(filepath.Join("core", "target", "httpipc-jvm.jar"))
}

// need fails or skips t unless the build succeeded.
func need(t *testing.T) {
	t.Helper()
	switch {
	case build.skip != "" && os.Getenv("HTTPIPC_REQUIRE_KOTLIN") != "":
		t.Fatal(build.skip)
	case build.skip != "":
		t.Skip(build.skip)
	case build.err != nil:
		t.Fatalf("%v\n%s", build.err, tail(build.mvnOut, 200))
	}
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// TestMaven reports the Kotlin tests: Maven ran them (unit tests, the
// shared vectors, and the Kotlin client and provider against the Go
// command) before the jar was built.
func TestMaven(t *testing.T) {
	need(t)
	for _, line := range strings.Split(build.mvnOut, "\n") {
		if strings.Contains(line, "Tests run:") && !strings.Contains(line, " -- in ") {
			t.Log(strings.TrimSpace(line))
		}
	}
	if _, err := os.Stat(build.jar); err != nil {
		t.Fatalf("the jar: %v", err)
	}
}

// startGoProviders serves goHandler on two Unix sockets in dir: one with
// the default policy, for the Kotlin client's tests against the Go
// provider, and one whose policy refuses every user.
func startGoProviders(dir string) (served, refusing string, stop func(), err error) {
	var servers []*httpipc.Server
	stop = func() {
		for _, s := range servers {
			s.Close()
		}
	}
	for _, tc := range []struct {
		name   string
		policy httpipc.Policy
		addr   *string
	}{
		{"go.sock", nil, &served},
		{"refusing.sock", httpipc.AllowUIDs(1<<31 - 3), &refusing},
	} {
		addr := "unix:" + filepath.Join(dir, tc.name)
		ln, err := httpipc.Listen(addr)
		if err != nil {
			stop()
			return "", "", nil, err
		}
		srv := &httpipc.Server{Handler: goHandler(), Policy: tc.policy, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		servers = append(servers, srv)
		go srv.Serve(ln)
		*tc.addr = addr
	}
	return served, refusing, stop, nil
}

// goHandler is the API the Kotlin client's tests call on the Go provider:
// GET /hello?name=N, POST /sum (length and SHA-256 of the body), GET
// /bytes?n=N (N bytes of "0123456789abcdef"), GET /stall (64 KiB, then
// nothing until the caller goes away; GET /stalled tells whether the last
// stall saw its caller go), POST /echo (the body back), and GET /hints (a
// 103, then 200 with a trailer x-checksum).
func goHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.URL.Query().Get("name"))
	})
	mux.HandleFunc("POST /sum", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%d %x", n, h.Sum(nil))
	})
	mux.HandleFunc("GET /bytes", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		w.Header().Set("Content-Type", "application/octet-stream")
		buf := bytes.Repeat([]byte("0123456789abcdef"), 2048)
		for n > 0 {
			k := min(n, int64(len(buf)))
			if _, err := w.Write(buf[:k]); err != nil {
				return
			}
			n -= k
		}
	})
	cancelled := make(chan bool, 1)
	mux.HandleFunc("GET /stall", func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("x"), 64<<10))
		w.(http.Flusher).Flush()
		saw := false
		select {
		case <-r.Context().Done():
			saw = true
		case <-time.After(time.Minute):
		}
		select {
		case cancelled <- saw:
		default: // nobody asked about the previous stall
		}
	})
	mux.HandleFunc("GET /stalled", func(w http.ResponseWriter, r *http.Request) {
		select {
		case c := <-cancelled:
			fmt.Fprint(w, c)
		case <-time.After(time.Minute):
			fmt.Fprint(w, "no stall ended")
		}
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		// Whole, then back: a forwarding OkHttp sends a request body before
		// it reads the response, so echoing as it arrives could stall both.
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(b)
	})
	mux.HandleFunc("GET /hints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.Header().Set("Trailer", "X-Checksum")
		io.WriteString(w, "hinted")
		w.Header().Set("X-Checksum", "abc")
	})
	return mux
}
