//go:build linux

package httpipc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/httpipc/httpipc/address"
	"github.com/httpipc/httpipc/internal/syncbuf"
	"github.com/httpipc/httpipc/internal/testprog"
	"github.com/httpipc/httpipc/servicedir"
	"github.com/httpipc/httpipc/transport"
)

// These tests run the provider in a separate process: the test binary
// itself, started with HTTPIPC_TEST_PROVIDER set (see TestMain).

const providerEnv = "HTTPIPC_TEST_PROVIDER"

func TestMain(m *testing.M) {
	if addr := os.Getenv(providerEnv); addr != "" {
		os.Exit(runTestProvider(addr))
	}
	if mode := os.Getenv(attackEnv); mode != "" {
		os.Exit(runAttacker(mode))
	}
	os.Exit(m.Run())
}

// startsEnv names the file where each start of the test provider appends
// its pid, one line per start, so that tests count the providers started
// rather than judge from the ones that answered.
const startsEnv = "HTTPIPC_TEST_STARTS"

// runTestProvider serves a small API until it is idle for
// HTTPIPC_TEST_IDLE (default: never) or killed.
func runTestProvider(addr string) int {
	if name := os.Getenv(startsEnv); name != "" {
		// O_APPEND: each start's line is one write at the end of the file,
		// whatever other starts do at the same time.
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err == nil {
			_, err = fmt.Fprintf(f, "%d\n", os.Getpid())
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "test provider: recording the start:", err)
			return 1
		}
	}
	idle, _ := time.ParseDuration(os.Getenv("HTTPIPC_TEST_IDLE"))
	mux := http.NewServeMux()
	mux.HandleFunc("/pid", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, os.Getpid())
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		// Send a first part, then keep the response open until the client
		// goes away or the process is killed.
		fmt.Fprintf(w, "%d\n", os.Getpid())
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		// The request content streams back as it arrives.
		io.Copy(w, r.Body)
	})
	ln, err := Listen(addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "test provider:", err)
		return 1
	}
	err = (&Server{Handler: mux, IdleTimeout: idle}).Serve(ln)
	if errors.Is(err, ErrIdle) {
		return 0
	}
	fmt.Fprintln(os.Stderr, "test provider:", err)
	return 1
}

// testService installs a service-directory entry that starts the test
// binary as a provider, and returns a Transport for it.
func testService(t *testing.T, idle time.Duration) (*Transport, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// A short directory keeps the socket path under the 107-byte limit.
	run, err := os.MkdirTemp("", "hi")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(run, "p.sock")
	t.Cleanup(func() {
		killProvider(sock)
		os.RemoveAll(run)
	})
	d := servicedir.At(dir)
	err = d.Install(dir, &servicedir.Entry{
		Name:   "org.httpipc.test",
		Socket: address.Address{Kind: address.Unix, Path: sock},
		Exec:   []string{exe},
		Env: map[string]string{providerEnv: "unix:" + sock, "HTTPIPC_TEST_IDLE": idle.String(),
			startsEnv: startsFile(sock)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &Transport{Service: "org.httpipc.test", Directory: d, Logger: quietLogger()}, sock
}

// startsFile is where the providers of testService's sock record their
// starts.
func startsFile(sock string) string { return filepath.Join(filepath.Dir(sock), "starts") }

// providerStarts returns the pids of the providers started for sock, in
// the order they started.
func providerStarts(t *testing.T, sock string) []int {
	t.Helper()
	b, err := os.ReadFile(startsFile(sock))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, line := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(line)
		if err != nil {
			t.Fatalf("start record %q: %v", b, err)
		}
		pids = append(pids, pid)
	}
	return pids
}

// killProvider kills whatever serves sock, so no process outlives a test.
func killProvider(sock string) {
	tr := &Transport{Service: "unix:" + sock, Logger: quietLogger()}
	if pid, err := getPID(&http.Client{Transport: tr, Timeout: 10 * time.Second}); err == nil {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

func getPID(c *http.Client) (int, error) {
	resp, err := c.Get("http://test/pid")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(string(b))
}

// waitGone waits, within a bound, until process pid has exited.
func waitGone(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(within)
	for {
		// The launcher reaped it (it is our child) or it is gone.
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		select {
		case <-deadline:
			t.Fatalf("provider %d still running after %v", pid, within)
		case <-tick.C:
		}
	}
}

// raceClients has n clients, each with a Transport of its own, call the
// service of tr at the same moment, and returns the pids that answered.
// Each asks for /stream, which answers with the provider's pid and stays
// open until the client closes it; the clients keep it open until release
// is called, so that the provider has a request in flight and cannot exit
// idle while the others are still on their way, however slowly the
// machine runs them.
func raceClients(t *testing.T, round int, tr *Transport, n int) (pids []int, release func()) {
	t.Helper()
	type answer struct {
		pid int
		err error
	}
	answers := make(chan answer, n)
	start, held := make(chan struct{}), make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(held) }) }
	t.Cleanup(release)
	for range n {
		go func() {
			c := &http.Client{Transport: &Transport{Service: tr.Service, Directory: tr.Directory, Logger: quietLogger()}}
			<-start
			resp, err := c.Get("http://test/stream")
			if err != nil {
				answers <- answer{err: err}
				return
			}
			defer resp.Body.Close()
			var pid int
			_, err = fmt.Fscanln(resp.Body, &pid)
			answers <- answer{pid, err}
			<-held
		}()
	}
	close(start)
	deadline := time.After(30 * time.Second)
	for len(pids) < n {
		select {
		case a := <-answers:
			if a.err != nil {
				t.Fatalf("round %d: client: %v", round, a.err)
			}
			pids = append(pids, a.pid)
		case <-deadline:
			t.Fatalf("round %d: %d of %d clients answered within 30s", round, len(pids), n)
		}
	}
	return pids, release
}

// Eight clients find nothing running at the same moment: exactly one
// provider starts (counted by its record of the start), and every request
// reaches it. A race is won or lost within a few hundred microseconds, so
// it runs several rounds, each after the provider of the round before was
// killed, its socket file left behind as after a crash. After the last
// round, the provider exits idle and a new request starts another.
func TestOnDemandStartAndIdleExit(t *testing.T) {
	tr, sock := testService(t, time.Second)
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	const clients, rounds = 8, 20
	var first int
	var release func()
	for round := 1; round <= rounds; round++ {
		var pids []int
		pids, release = raceClients(t, round, tr, clients)
		starts := providerStarts(t, sock)
		if len(starts) != round {
			t.Fatalf("round %d: %d racing clients started %d providers, want 1 (all starts: %v)", round, clients, len(starts)-round+1, starts)
		}
		first = starts[round-1]
		for _, pid := range pids {
			if pid != first || pid == os.Getpid() {
				t.Fatalf("round %d: answered by %v, want the provider started (%d)", round, pids, first)
			}
		}
		if round == rounds {
			break
		}
		release()
		if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitGone(t, first, 30*time.Second)
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %v %v, want mode 0600", fi, err)
	}
	if fi, err := os.Stat(filepath.Dir(sock)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("socket directory %v %v, want mode 0700", fi, err)
	}
	// c keeps a connection to this provider in its pool.
	if pid, err := getPID(c); err != nil || pid != first {
		t.Fatalf("got %d, %v, want %d", pid, err, first)
	}

	// Released, the provider becomes idle, exits and removes its socket.
	release()
	waitGone(t, first, 30*time.Second)
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Fatalf("socket left behind by the idle provider: %v", err)
	}
	// The next request, which finds the pooled connection closed, starts
	// a new provider.
	second, err := getPID(c)
	if err != nil {
		t.Fatal(err)
	}
	starts := providerStarts(t, sock)
	if len(starts) != rounds+1 || second != starts[rounds] {
		t.Fatalf("answered by %d after the idle exit of %d; providers started: %v, want one more", second, first, starts)
	}
}

func TestProviderKilledMidRequest(t *testing.T) {
	tr, _ := testService(t, 0)
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	resp, err := c.Get("http://test/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var pid int
	if _, err := fmt.Fscanln(resp.Body, &pid); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The body read must fail, not hang and not end cleanly.
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(resp.Body)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the response of a killed provider ended without an error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reading from a killed provider hangs")
	}
	waitGone(t, pid, 10*time.Second)
	// The next request starts a new provider over the stale socket.
	again, err := getPID(c)
	if err != nil {
		t.Fatal(err)
	}
	if again == pid {
		t.Fatal("a killed provider answered")
	}
}

func TestNeverStartsWithoutEntry(t *testing.T) {
	// A plain socket address never starts anything.
	c := NewClient("unix:" + filepath.Join(t.TempDir(), "none.sock"))
	if _, err := c.Get("http://x/"); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("got %v, want ErrNotRunning", err)
	}
	// An unknown service name is an error that names the directories.
	tr := &Transport{Service: "org.httpipc.missing", Directory: servicedir.Directory{Getenv: func(k string) string {
		if k == "HTTPIPC_SERVICE_PATH" {
			return t.TempDir()
		}
		return ""
	}}}
	if _, err := (&http.Client{Transport: tr}).Get("http://x/"); !errors.Is(err, servicedir.ErrNotFound) {
		t.Fatalf("got %v, want servicedir.ErrNotFound", err)
	}
}

func TestSystemdSocketActivation(t *testing.T) {
	ssa := testprog.Path(t, "systemd-socket-activate", testprog.Systemd)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	run, err := os.MkdirTemp("", "hs")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(run)
	sock := filepath.Join(run, "p.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, ssa, "-l", sock, "-E", providerEnv+"=unix:/nonexistent/ignored.sock", exe)
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		cmd.Wait()
	}()
	// systemd-socket-activate binds the socket file before it listens on
	// it (a connection in between is refused), then says "Listening on";
	// wait, within a bound, for that line.
	var stderr syncbuf.Buffer
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(errPipe)
		said := false
		for sc.Scan() {
			stderr.WriteString(sc.Text() + "\n")
			if !said && strings.HasPrefix(sc.Text(), "Listening on") {
				said = true
				close(listening)
			}
		}
	}()
	select {
	case <-listening:
	case <-time.After(10 * time.Second):
		t.Fatalf("systemd-socket-activate is not listening: %s", stderr.String())
	}
	// The provider only starts with this first connection, and serves it
	// on the socket it was handed, not on the address it was given.
	pid, err := getPID(NewClient("unix:" + sock))
	if err != nil {
		t.Fatalf("%v (%s)", err, stderr.String())
	}
	if pid == os.Getpid() {
		t.Fatal("answered by the test process")
	}
}

// TestStartRefusesUnsafeDirectory: a socket directory other users may
// write to is refused before anything is started, and the cause reaches
// the caller for errors.Is.
func TestStartRefusesUnsafeDirectory(t *testing.T) {
	tr, sock := testService(t, time.Minute)
	if err := os.Chmod(filepath.Dir(sock), 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := (&http.Client{Transport: tr}).Get("http://x/pid")
	if !errors.Is(err, ErrNotRunning) || !errors.Is(err, transport.ErrUnsafePath) {
		t.Fatalf("got %v, want ErrNotRunning wrapping transport.ErrUnsafePath", err)
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Fatalf("a socket was created in the unsafe directory: %v", err)
	}
}
