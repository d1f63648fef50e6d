package kotlin_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/internal/otheruser"
	"github.com/httpipc/httpipc/internal/syncbuf"
)

// upstream is an HTTP server for the Kotlin provider to forward to, with
// the API of goHandler.
func upstream(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(goHandler())
	t.Cleanup(srv.Close)
	return srv
}

// kotlinServe starts "java -jar httpipc-jvm.jar serve" in front of up, on a
// Unix socket in dir, and returns its address and process.
func kotlinServe(t *testing.T, dir, up string, extra ...string) (string, *exec.Cmd) {
	t.Helper()
	sock := filepath.Join(dir, "k.sock")
	args := append([]string{"-Xmx48m", "-jar", build.jar, "serve", "--listen", "unix:" + sock, "--upstream", up}, extra...)
	cmd := exec.Command(build.java, args...)
	var stderr syncbuf.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(time.Minute)
	for {
		if fi, err := os.Stat(sock); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return "unix:" + sock, cmd
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Kotlin provider made no socket within a minute: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// shortDir is a directory with a short path, for socket paths under the
// 107-byte limit.
func shortDir(t *testing.T) string {
	d, err := os.MkdirTemp("", "kt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// TestGoClientKotlinProvider: the Go client and the Go command against the
// Kotlin provider, with the provider's heap bounded to 48 MiB while 16 MiB
// go each way.
func TestGoClientKotlinProvider(t *testing.T) {
	need(t)
	up := upstream(t)
	addr, _ := kotlinServe(t, shortDir(t), up.URL)
	c := httpipc.NewClient(addr)

	t.Run("get", func(t *testing.T) {
		resp, err := c.Get("http://lms/hello?name=go")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "hello go" {
			t.Fatalf("%d %q", resp.StatusCode, b)
		}
	})
	t.Run("16 MiB up", func(t *testing.T) {
		const n = 16 << 20
		body := io.LimitReader(&repeatReader{}, n)
		resp, err := c.Post("http://lms/sum", "application/octet-stream", body)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		h := sha256.New()
		io.Copy(h, io.LimitReader(&repeatReader{}, n))
		if want := fmt.Sprintf("%d %x", n, h.Sum(nil)); string(b) != want {
			t.Fatalf("%d %q, want %q", resp.StatusCode, b, want)
		}
	})
	t.Run("16 MiB down", func(t *testing.T) {
		resp, err := c.Get("http://lms/bytes?n=16777216")
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || n != 16<<20 {
			t.Fatalf("read %d bytes: %v", n, err)
		}
	})
	t.Run("64 concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for i := range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := c.Get(fmt.Sprintf("http://lms/hello?name=%d", i))
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(b) != fmt.Sprintf("hello %d", i) {
					errs <- fmt.Errorf("call %d: %q", i, b)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
	t.Run("cancel mid-body", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://lms/stall", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(resp.Body, make([]byte, 64<<10)); err != nil {
			t.Fatal(err)
		}
		cancel()
		if _, err := io.ReadAll(resp.Body); err == nil {
			t.Fatal("the body read on after the cancellation")
		}
		resp.Body.Close()
		// The provider serves on.
		resp, err = c.Get("http://lms/hello?name=after")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	})
	t.Run("httpipc call", func(t *testing.T) {
		out, err := exec.Command(build.goCmd, "call", "-i", addr, "/hello?name=cli").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "HTTP/1.1 200 OK") || !strings.HasSuffix(string(out), "hello cli") {
			t.Fatalf("%v: %s", err, out)
		}
	})
}

// TestKotlinProviderRefusesOtherUser: a caller of another user is refused
// by the Kotlin provider's default policy with a reason, even when the
// socket file lets it connect.
func TestKotlinProviderRefusesOtherUser(t *testing.T) {
	need(t)
	otheruser.Require(t)
	dir := otheruser.Dir(t)
	addr, _ := kotlinServe(t, dir, upstream(t).URL)
	if err := os.Chmod(strings.TrimPrefix(addr, "unix:"), 0o666); err != nil {
		t.Fatal(err)
	}
	goCmd := filepath.Join(dir, "httpipc")
	if out, err := exec.Command("cp", build.goCmd, goCmd).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	out, err := otheruser.Command(goCmd, "call", addr, "/hello").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "connection refused by provider") {
		t.Fatalf("uid %d calling the Kotlin provider: %v: %s", otheruser.UID, err, out)
	}
}

// TestKotlinProviderKilled: a Kotlin provider killed mid-response fails the
// Go client's read promptly with an error, never a short body.
func TestKotlinProviderKilled(t *testing.T) {
	need(t)
	addr, cmd := kotlinServe(t, shortDir(t), upstream(t).URL)
	resp, err := httpipc.NewClient(addr).Get("http://lms/stall")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadFull(resp.Body, make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(resp.Body)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the body ended cleanly after the provider was killed")
		}
	case <-time.After(time.Minute):
		t.Fatal("the read did not fail within a minute of the provider's death")
	}
}

// repeatReader reads "0123456789abcdef" over and over.
type repeatReader struct{ off int }

func (r *repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = "0123456789abcdef"[(r.off+i)%16]
	}
	r.off += len(p)
	return len(p), nil
}

// TestConformanceKotlinProvider: the Kotlin provider passes
// httpipc conformance, the same judge the Go provider passes.
func TestConformanceKotlinProvider(t *testing.T) {
	need(t)
	addr, _ := kotlinServe(t, shortDir(t), upstream(t).URL)
	out, err := exec.Command(build.goCmd, "conformance", "--echo", "/echo", addr).CombinedOutput()
	t.Logf("httpipc conformance --echo /echo (Kotlin provider):\n%s", out)
	if err != nil {
		t.Fatalf("httpipc conformance: %v", err)
	}
}
