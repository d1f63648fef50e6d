//go:build unix

package mobile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/httpipc/httpipc"
)

// TestJNIBoundService loads the Go provider (libgojni.so, see buildJNI)
// into a plain JVM and feeds it what a bound service's Binder.onTransact
// would: request messages as byte arrays, from the Kotlin client's
// MessageTransport in the same JVM, and socketpair ends as fd numbers for
// Provider.serveFD, on whose other ends a Go client here calls
// (testdata/jni/bound/BoundService.java). Android's classes are not needed
// for either: Binder only carries the bytes and the descriptor.
func TestJNIBoundService(t *testing.T) {
	b := buildJNI(t)
	jar := kotlinJar(t)
	classes := filepath.Join(t.TempDir(), "classes")
	b.javac(t, classes, []string{jar}, filepath.Join(b.testdata, "bound", "BoundService.java"))

	// The socketpairs ParcelFileDescriptor.createSocketPair would make: the
	// provider's ends become the JVM's fds 3 and 4.
	var provEnds []*os.File
	var clientFDs []int
	for _, name := range []string{"caller", "stranger"} {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		if err != nil {
			t.Fatal(err)
		}
		unix.CloseOnExec(fds[0])
		unix.CloseOnExec(fds[1])
		provEnds = append(provEnds, os.NewFile(uintptr(fds[0]), name+" provider end"))
		clientFDs = append(clientFDs, fds[1])
	}
	cmd := exec.Command(b.java, "-Xmx64m", "-Djava.library.path="+b.lib,
		"-cp", classes+string(os.PathListSeparator)+jar, "bound.BoundService", fmt.Sprint(os.Getuid()))
	cmd.ExtraFiles = provEnds
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for _, f := range provEnds {
		f.Close()
	}
	kill := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer kill.Stop()
	var printed strings.Builder
	lines := bufio.NewScanner(stdout)
	serving := false
	for !serving && lines.Scan() {
		printed.WriteString(lines.Text() + "\n")
		serving = lines.Text() == "serving fd 3 and 4"
	}
	if !serving {
		stdin.Close()
		cmd.Wait()
		t.Fatalf("the JVM stopped before serving the descriptors:\n%s%s", printed.String(), stderr.String())
	}

	// The Go client on the caller's socket: the stream protocol, with a
	// body far larger than a message.
	c, err := NewFDClient(int64(clientFDs[0]))
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Do("GET", "http://lms/classes", "", nil)
	if err != nil || r.Status != 200 || string(r.Body) != `["math-7b"]` {
		t.Errorf("GET over the descriptor: %v %+v", err, r)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 256<<10) // 4 MiB
	if r, err := c.Do("POST", "http://lms/echo", "", big); err != nil || r.Status != 200 || !bytes.Equal(r.Body, big) {
		t.Errorf("4 MiB echo over the descriptor: %v", err)
	}
	// The stranger's socket: the provider refuses the uid the host passed.
	s, err := NewFDClient(int64(clientFDs[1]))
	if err != nil {
		t.Fatal(err)
	}
	if r, err := s.Do("GET", "http://lms/classes", "", nil); !errors.Is(err, httpipc.ErrRefused) {
		t.Errorf("a stranger's descriptor: got %v %+v, want %v", err, r, httpipc.ErrRefused)
	}

	stdin.Close()
	rest, _ := io.ReadAll(stdout)
	printed.Write(rest)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the JVM: %v\n%s%s", err, printed.String(), stderr.String())
	}
	got := printed.String()
	t.Logf("the JVM printed:\n%s", got)
	for _, want := range []string{
		"message GET 200 [\"math-7b\"] content-length=11\n",
		"message POST 200 204800 equal=true\n",
		"message too large: request body of 307200 bytes, channel limit 262144 bytes\n",
		"message stranger refused: true\n",
		"closed\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the JVM printed:\n%s%s\nwant %q", got, stderr.String(), want)
		}
	}
}

// kotlinJar returns the Kotlin implementation's jar (kotlin/core, with its
// dependencies): HTTPIPC_KOTLIN_JAR if set, else built with Maven into a
// temporary directory, tests skipped (./kotlin's tests run them), which
// takes about 15 seconds. Without Maven the test skips, unless
// HTTPIPC_REQUIRE_KOTLIN is set.
func kotlinJar(t *testing.T) string {
	t.Helper()
	if jar := os.Getenv("HTTPIPC_KOTLIN_JAR"); jar != "" {
		return jar
	}
	mvn, err := exec.LookPath("mvn")
	if err != nil {
		if os.Getenv("HTTPIPC_REQUIRE_KOTLIN") != "" {
			t.Fatal(err)
		}
		t.Skip("the Kotlin client needs Maven: ", err)
	}
	out := t.TempDir()
	args := []string{"-B", "-q", "-f", filepath.Join("..", "kotlin", "pom.xml"), "package",
		"-Dmaven.test.skip=true", "-Dhttpipc.build.dir=" + out}
	if os.Getenv("HTTPIPC_MAVEN_OFFLINE") != "" {
		args = append(args, "-o")
	}
	run(t, exec.Command(mvn, args...))
	return filepath.Join(out, "httpipc-jvm.jar")
}
