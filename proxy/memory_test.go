//go:build linux

package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/httpipc/httpipc/internal/pattern"
	"github.com/httpipc/httpipc/internal/procstat"
)

// Memory is steady enough to assert; time is not, so this test measures
// the one and only logs the other.

const (
	// memoryProxyEnv, set to a provider's address, makes the test binary a
	// proxy process for that provider (see init).
	memoryProxyEnv = "HTTPIPC_PROXY_MEMORY_TEST"
	// memoryStreamBytes is what goes through the proxy each way.
	memoryStreamBytes = 256 << 20
	// maxPeakGrowth bounds the growth of the proxy's peak RSS over a
	// stream: a few buffers and the garbage collector's slack, nowhere
	// near the stream.
	maxPeakGrowth = 16 << 20
)

// init turns the test binary into a proxy process when memoryProxyEnv is
// set, so that the proxy's memory is a process's own to measure. (An init
// function rather than a case in TestMain keeps this file self-contained.)
func init() {
	if addr := os.Getenv(memoryProxyEnv); addr != "" {
		os.Exit(runMemoryProxy(addr))
	}
}

// runMemoryProxy serves a proxy for addr on a free loopback port, prints
// its base URL, and exits when its standard input closes.
func runMemoryProxy(addr string) int {
	p := &Proxy{Service: addr, Logger: quiet()}
	ln, err := Listen("")
	if err != nil {
		fmt.Fprintln(os.Stderr, "memory proxy:", err)
		return 1
	}
	fmt.Println(p.BaseURL(ln.Addr()))
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	err = p.Serve(ln)
	fmt.Fprintln(os.Stderr, "memory proxy:", err)
	return 1
}

// startMemoryProxy starts a proxy process for addr and returns its pid
// and base URL.
func startMemoryProxy(t *testing.T, addr string) (int, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), memoryProxyEnv+"="+addr)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(s)
		io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Error("the proxy process did not exit when its input closed")
		}
	})
	var base string
	select {
	case base = <-line:
	case <-time.After(30 * time.Second):
		t.Fatalf("no base URL from the proxy process within 30s")
	}
	if !strings.HasPrefix(base, "http://") {
		t.Fatalf("proxy process printed %q (%s)", base, stderr.String())
	}
	return cmd.Process.Pid, base
}

// patternAPI serves POST /upload, which checks the content and answers
// with its length, and GET /download?n=N, which sends N bytes.
func patternAPI(p pattern.Pattern) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		n, err := p.Check(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, n)
	})
	mux.HandleFunc("GET /download", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		io.Copy(w, p.Reader(n))
	})
	return mux
}

// upload sends n bytes of p through the proxy at base, with their length
// declared.
func upload(c *http.Client, base string, p pattern.Pattern, n int64) error {
	req, err := http.NewRequest("POST", base+"/upload", p.Reader(n))
	if err != nil {
		return err
	}
	req.ContentLength = n
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || string(b) != strconv.FormatInt(n, 10) {
		return fmt.Errorf("upload of %d bytes: %s %s", n, resp.Status, b)
	}
	return nil
}

// download fetches n bytes of p through the proxy at base.
func download(c *http.Client, base string, p pattern.Pattern, n int64) error {
	resp, err := c.Get(base + "/download?n=" + strconv.FormatInt(n, 10))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New("download: " + resp.Status)
	}
	got, err := p.Check(resp.Body)
	if err == nil && got != n {
		err = fmt.Errorf("downloaded %d of %d bytes", got, n)
	}
	return err
}

// 256 MiB up through a proxy process and 256 MiB down grow the proxy's
// peak RSS by less than 16 MiB each.
func TestProxyMemoryBounded(t *testing.T) {
	p := pattern.New()
	pid, base := startMemoryProxy(t, providerFor(t, patternAPI(p)))
	c := &http.Client{Timeout: 2 * time.Minute}
	defer c.CloseIdleConnections()
	// The baseline includes a request served each way.
	if err := upload(c, base, p, 64<<10); err != nil {
		t.Fatal(err)
	}
	if err := download(c, base, p, 64<<10); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []struct {
		name string
		do   func(*http.Client, string, pattern.Pattern, int64) error
	}{{"up", upload}, {"down", download}} {
		before := peakRSS(t, pid)
		start := time.Now()
		if err := dir.do(c, base, p, memoryStreamBytes); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		after := peakRSS(t, pid)
		t.Logf("proxy peak RSS %.1f MiB before, %.1f MiB after %d MiB %s (%v)",
			float64(before)/(1<<20), float64(after)/(1<<20), memoryStreamBytes>>20, dir.name, took.Round(time.Millisecond))
		if growth := after - before; growth > maxPeakGrowth {
			t.Errorf("the proxy's peak RSS grew by %.1f MiB while streaming %d MiB %s, want less than %d MiB",
				float64(growth)/(1<<20), memoryStreamBytes>>20, dir.name, maxPeakGrowth>>20)
		}
	}
}

// peakRSS returns the peak resident set size of process pid, in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	n, err := procstat.PeakRSS(pid)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
