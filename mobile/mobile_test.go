//go:build unix

package mobile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/mobile/registry"
)

func init() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /classes", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `["math-7b"]`)
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, r.Body)
	})
	registry.Register("org.httpipc.mobiletest", mux)
}

// hostCaller plays the host's Binder transaction: it hands the bytes to the
// provider with the caller's uid and pid.
type hostCaller struct{ p *Provider }

func (h hostCaller) Call(req []byte) ([]byte, error) {
	return h.p.HandleMessage(int64(os.Getuid()), int64(os.Getpid()), req), nil
}

func TestBridge(t *testing.T) {
	p, err := NewProvider("org.httpipc.mobiletest")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := NewProvider("org.httpipc.none"); err == nil {
		t.Fatal("provider for an unregistered service")
	}
	// Descriptor handoff: the host made a socketpair and passed one end.
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ServeFD(int64(fds[0]), int64(os.Getuid()), int64(os.Getpid())); err != nil {
		t.Fatal(err)
	}
	fdClient, err := NewFDClient(int64(fds[1]))
	if err != nil {
		t.Fatal(err)
	}
	// Streams over messages: the host's oneway transactions, each way.
	var toProvider, toClient hostSender
	clientLink, providerLink := NewLink(&toProvider, 0), NewLink(&toClient, 0)
	toProvider.to, toClient.to = providerLink, clientLink
	p.ServeLink(providerLink, int64(os.Getuid()), int64(os.Getpid()))
	defer clientLink.Close()
	clients := map[string]*Client{
		"message mode":       NewMessageClient(hostCaller{p}, 0),
		"descriptor handoff": fdClient,
		"link":               NewLinkClient(clientLink),
	}
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			r, err := c.Do("GET", "http://lms/classes", "Accept: application/json\n", nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != 200 || string(r.Body) != `["math-7b"]` || !strings.Contains(r.Headers, "Content-Type: application/json\n") {
				t.Fatalf("got %d %q %q", r.Status, r.Body, r.Headers)
			}
			r, err = c.Do("POST", "http://lms/echo", "", []byte("hi"))
			if err != nil || string(r.Body) != "hi" {
				t.Fatalf("echo: %v %q", err, r.Body)
			}
			if _, err := c.Do("GET", "http://lms/classes", "no colon", nil); err == nil {
				t.Fatal("bad header line accepted")
			}
		})
	}
	// The localhost proxy forwards through any of the clients.
	lp, err := clients["message mode"].StartProxy("https://appassets.androidplatform.net\n", true)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(lp.URL() + "/classes")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != `["math-7b"]` {
		t.Fatalf("through the proxy: %d %q", resp.StatusCode, b)
	}
	lp.Close()
	// A body far larger than a message streams over the link.
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	if r, err := clients["link"].Do("POST", "http://lms/echo", "", big); err != nil || !bytes.Equal(r.Body, big) {
		t.Fatalf("1 MiB echo over the link: %v", err)
	}
	// A message over the limit closes the link, and requests on it fail.
	if err := providerLink.Deliver(make([]byte, 65<<10)); err == nil {
		t.Fatal("oversized message delivered")
	}
	if _, err := clients["link"].Do("GET", "http://lms/classes", "", nil); err == nil {
		t.Fatal("request over a closed link succeeded")
	}
	// A caller of another uid is refused until allowed: the message
	// client reports the provider's 403 forbidden as a refusal, as the
	// stream clients do.
	other := hostCallerUID{p, int64(os.Getuid() + 1000)}
	if r, err := NewMessageClient(other, 0).Do("GET", "http://lms/classes", "", nil); !errors.Is(err, httpipc.ErrRefused) {
		t.Fatalf("foreign uid: %v %+v, want %v", err, r, httpipc.ErrRefused)
	}
	p.AllowUID(int64(os.Getuid() + 1000))
	if r, err := NewMessageClient(other, 0).Do("GET", "http://lms/classes", "", nil); err != nil || r.Status != 200 {
		t.Fatalf("allowed uid: %v %v", err, r)
	}
}

// hostSender plays a oneway transaction to the other app's Link.
type hostSender struct{ to *Link }

func (h *hostSender) Send(msg []byte) error { return h.to.Deliver(msg) }

type hostCallerUID struct {
	p   *Provider
	uid int64
}

func (h hostCallerUID) Call(req []byte) ([]byte, error) {
	return h.p.HandleMessage(h.uid, 1, req), nil
}

// tools finds gobind and javac, or skips (fails under .ci/run).
func tools(t *testing.T) (gobind, javac string) {
	t.Helper()
	gobind, err := exec.LookPath("gobind")
	if err != nil {
		if gp, e := exec.Command("go", "env", "GOPATH").Output(); e == nil {
			gobind = filepath.Join(strings.TrimSpace(string(gp)), "bin", "gobind")
			_, err = os.Stat(gobind)
		}
	}
	javac, jerr := exec.LookPath("javac")
	if err != nil || jerr != nil {
		if os.Getenv("HTTPIPC_REQUIRE_GOBIND") != "" {
			t.Fatalf("gobind (%v) or javac (%v) missing", err, jerr)
		}
		t.Skip("gobind or javac not installed")
	}
	return gobind, javac
}

// TestGobind generates the Java and Objective-C bindings, fails if gobind
// skipped anything in this package (it only leaves a comment), and compiles
// the Java with javac. .ci/run sets HTTPIPC_REQUIRE_GOBIND so that missing
// tools fail the run instead of skipping.
func TestGobind(t *testing.T) {
	gobind, javac := tools(t)
	out := t.TempDir()
	cmd := exec.Command(gobind, "-lang=java,objc", "-outdir", out, "github.com/httpipc/httpipc/mobile")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gobind: %v\n%s", err, b)
	}
	var javaFiles []string
	filepath.Walk(out, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, _ := os.ReadFile(path)
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "skipped") {
				t.Errorf("%s: %s", filepath.Base(path), strings.TrimSpace(line))
			}
		}
		if strings.HasSuffix(path, ".java") {
			javaFiles = append(javaFiles, path)
		}
		return nil
	})
	if len(javaFiles) == 0 {
		t.Fatal("gobind produced no Java")
	}
	javaFiles = append(javaFiles, filepath.Join("testdata", "javastub", "android", "content", "Context.java"))
	classes := t.TempDir()
	if b, err := exec.Command(javac, append([]string{"-d", classes}, javaFiles...)...).CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, b)
	}
	if _, err := os.Stat(filepath.Join(classes, "mobile", "Provider.class")); err != nil {
		t.Fatal(fmt.Errorf("no Provider class: %w", err))
	}
}

// TestJNI builds the bound library for this desktop (linux/amd64, JNI) and
// runs a Java program that drives the generated Java API against a Go
// provider in the JVM.
func TestJNI(t *testing.T) {
	b := buildJNI(t)
	classes := filepath.Join(t.TempDir(), "classes")
	b.javac(t, classes, nil, filepath.Join(b.testdata, "app", "Main.java"))
	got := run(t, exec.Command(b.java, "-Djava.library.path="+b.lib, "-cp", classes, "app.Main", fmt.Sprint(os.Getuid())))
	for _, want := range []string{`200 ["math-7b"]`, "\nrefused: Get \"http://lms/classes\": httpipc: connection refused by provider: ", `error: mobile: no handler registered as "org.httpipc.none"`} {
		if !strings.Contains(got, want) {
			t.Errorf("the Java program printed:\n%s\nwant %q", got, want)
		}
	}
}

// jniBuild is what buildJNI made: the bound library and the generated Java.
type jniBuild struct {
	jdk, java, javacCmd string
	testdata            string   // testdata/jni, absolute
	lib                 string   // the directory holding libgojni.so
	sources             []string // the generated Java and the stand-in android.content.Context
	err                 error
}

var (
	jniOnce  sync.Once
	jniCache jniBuild
	jniDir   string // removed by TestMain
)

// buildJNI builds, once per test binary, the bound library for this desktop
// (linux/amd64, JNI): gobind's Go and Java output, with gomobile's JNI glue,
// which is written for Android, compiled under other file names against a
// stand-in for Android's log.h (testdata/jni) and without liblog. The
// handler the Java programs call is testdata/jni/register_jni.go's.
func buildJNI(t *testing.T) *jniBuild {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a shared library")
	}
	gobind, javac := tools(t)
	jniOnce.Do(func() {
		dir, err := os.MkdirTemp("", "httpipc-jni-")
		if err != nil {
			jniCache.err = err
			return
		}
		jniDir = dir
		jniCache.err = jniCache.build(gobind, javac, dir)
	})
	if jniCache.err != nil {
		t.Fatal(jniCache.err)
	}
	return &jniCache
}

func (b *jniBuild) build(gobind, javac, out string) error {
	javacReal, err := filepath.EvalSymlinks(javac)
	if err != nil {
		return err
	}
	b.javacCmd = javac
	b.jdk = filepath.Dir(filepath.Dir(javacReal))
	b.java = filepath.Join(b.jdk, "bin", "java")
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return err
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if b.testdata, err = filepath.Abs(filepath.Join("testdata", "jni")); err != nil {
		return err
	}
	if o, err := exec.Command(gobind, "-lang=go,java", "-outdir", filepath.Join(out, "gen"), "github.com/httpipc/httpipc/mobile").CombinedOutput(); err != nil {
		return fmt.Errorf("gobind: %v\n%s", err, o)
	}

	// A module beside the generated main package, using this checkout.
	mod := filepath.Join(out, "mod")
	pkg := filepath.Join(mod, "gobind")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		return err
	}
	gen := filepath.Join(out, "gen", "src", "gobind")
	entries, err := os.ReadDir(gen)
	if err != nil {
		return err
	}
	for _, e := range entries {
		src, err := os.ReadFile(filepath.Join(gen, e.Name()))
		if err != nil {
			return err
		}
		name := e.Name()
		if !strings.HasSuffix(name, ".h") {
			name = strings.Replace(name, "_android.", "_jni.", 1) // else only GOOS=android builds it
		}
		src = []byte(strings.ReplaceAll(string(src), "#cgo LDFLAGS: -llog", ""))
		if err := os.WriteFile(filepath.Join(pkg, name), src, 0o644); err != nil {
			return err
		}
	}
	reg, err := os.ReadFile(filepath.Join(b.testdata, "register_jni.go"))
	if err != nil {
		return err
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		return err
	}
	gomodText := "module jnitest\n\ngo 1.26.8\n\nrequire github.com/httpipc/httpipc v0.0.0\n\nreplace github.com/httpipc/httpipc => " + root + "\n"
	for name, data := range map[string][]byte{
		filepath.Join(pkg, "register_jni.go"): reg,
		filepath.Join(mod, "go.sum"):          sum,
		filepath.Join(mod, "go.mod"):          []byte(gomodText),
	} {
		if err := os.WriteFile(name, data, 0o644); err != nil {
			return err
		}
	}
	b.lib = filepath.Join(out, "lib")
	// Desktop jni.h declares AttachCurrentThread with void**, Android's with
	// JNIEnv**: the same call, another pointer type.
	cflags := fmt.Sprintf("-D__GOBIND_ANDROID__ -Wno-incompatible-pointer-types -I%s -I%s -I%s", filepath.Join(b.jdk, "include"), filepath.Join(b.jdk, "include", "linux"), b.testdata)
	build := exec.Command("go", "build", "-buildmode=c-shared", "-o", filepath.Join(b.lib, "libgojni.so"), "./gobind")
	build.Dir = mod
	build.Env = append(os.Environ(), "CGO_ENABLED=1", "CGO_CFLAGS="+cflags, "GOFLAGS=-mod=mod", "GOWORK=off")
	if o, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building libgojni.so: %v\n%s", err, o)
	}
	filepath.Walk(filepath.Join(out, "gen", "java"), func(path string, info os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(path, ".java") {
			b.sources = append(b.sources, path)
		}
		return err
	})
	ctx, err := filepath.Abs(filepath.Join("testdata", "javastub", "android", "content", "Context.java"))
	b.sources = append(b.sources, ctx)
	return err
}

// javac compiles the generated Java and the given programs into classes,
// with classpath (may be empty) for anything else they use.
func (b *jniBuild) javac(t *testing.T, classes string, classpath []string, programs ...string) {
	t.Helper()
	args := []string{"-d", classes}
	if len(classpath) > 0 {
		args = append(args, "-cp", strings.Join(classpath, string(os.PathListSeparator)))
	}
	run(t, exec.Command(b.javacCmd, append(append(args, b.sources...), programs...)...))
}

// run runs cmd and returns its combined output, failing t if it fails.
func run(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	return string(out)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if jniDir != "" {
		os.RemoveAll(jniDir)
	}
	os.Exit(code)
}
