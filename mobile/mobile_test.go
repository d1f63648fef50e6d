//go:build unix

package mobile

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

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
	// A caller of another uid is refused until allowed.
	other := hostCallerUID{p, int64(os.Getuid() + 1000)}
	r, err := NewMessageClient(other, 0).Do("GET", "http://lms/classes", "", nil)
	if err != nil || r.Status != 403 {
		t.Fatalf("foreign uid: %v %d", err, r.Status)
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

// TestGobind generates the Java and Objective-C bindings, fails if gobind
// skipped anything in this package (it only leaves a comment), and compiles
// the Java with javac. .ci/run sets HTTPIPC_REQUIRE_GOBIND so that missing
// tools fail the run instead of skipping.
func TestGobind(t *testing.T) {
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
