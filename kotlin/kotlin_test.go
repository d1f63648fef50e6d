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
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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

// setUp builds the Go command, then runs Maven: the Kotlin tests (which use
// the Go command) and the jar.
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
	args := []string{"-B", "-f", "pom.xml", "-Dhttpipc.go=" + build.goCmd, "package"}
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
