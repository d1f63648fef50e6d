//go:build linux

package lms

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/httpipc/httpipc"
)

// The fault test runs the device's LMS and the online server as separate
// processes (this test binary, started with roleEnv), and kills them with
// SIGKILL at random moments while a client writes.
const roleEnv = "LMS_TEST_ROLE"

func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "upstream":
		os.Exit(runUpstream(os.Getenv("LMS_TEST_DB"), os.Getenv("LMS_TEST_ADDR")))
	case "provider":
		os.Exit(runProvider(os.Getenv("LMS_TEST_DB"), os.Getenv("LMS_TEST_ADDR"), os.Getenv("LMS_TEST_UPSTREAM")))
	}
	os.Exit(m.Run())
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func runUpstream(dbPath, addr string) int {
	db, err := Open(dbPath, false)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	http.Serve(ln, db.Handler(Options{}))
	return 1
}

func runProvider(dbPath, addr, upstream string) int {
	db, err := Open(dbPath, true)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ln, err := httpipc.Listen(addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	go (&Syncer{DB: db, Upstream: upstream, Interval: 20 * time.Millisecond, Logger: quiet(),
		Client: &http.Client{Timeout: 5 * time.Second}}).Run(context.Background())
	(&httpipc.Server{Handler: db.Handler(Options{}), Logger: quiet()}).Serve(ln)
	return 1
}

// supervised keeps a process running until stop, and kills it on demand.
type supervised struct {
	t     *testing.T
	env   []string
	mu    sync.Mutex
	cmd   *exec.Cmd
	kills atomic.Int64
}

func (s *supervised) start() {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		s.t.Error(err)
		return
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
}

// kill sends SIGKILL, waits for the process and starts it again.
func (s *supervised) kill() {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	s.kills.Add(1)
	s.start()
}

func (s *supervised) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
}

func TestSyncSurvivesKills(t *testing.T) {
	dir := t.TempDir()
	run, err := os.MkdirTemp("", "lms")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(run)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	upAddr := ln.Addr().String()
	ln.Close()
	sock := "unix:" + filepath.Join(run, "lms.sock")
	up := &supervised{t: t, env: []string{roleEnv + "=upstream", "LMS_TEST_DB=" + filepath.Join(dir, "up.db"), "LMS_TEST_ADDR=" + upAddr}}
	dev := &supervised{t: t, env: []string{roleEnv + "=provider", "LMS_TEST_DB=" + filepath.Join(dir, "dev.db"), "LMS_TEST_ADDR=" + sock, "LMS_TEST_UPSTREAM=http://" + upAddr}}
	up.start()
	dev.start()
	defer up.stop()
	defer dev.stop()

	// The killer: every few tens of milliseconds, SIGKILL one side.
	stopKilling := make(chan struct{})
	killerDone := make(chan struct{})
	go func() {
		defer close(killerDone)
		for {
			select {
			case <-stopKilling:
				return
			case <-time.After(time.Duration(20+rand.IntN(120)) * time.Millisecond):
			}
			if rand.IntN(2) == 0 {
				dev.kill()
			} else {
				up.kill()
			}
		}
	}()

	// The client: writes with its own ids, retrying each until the LMS
	// acknowledges it, as an app does.
	client := &http.Client{Transport: &httpipc.Transport{Service: sock, Logger: quiet()}, Timeout: 10 * time.Second}
	const nStatements, nResults = 40, 15
	put := func(path, body string) {
		deadline := time.Now().Add(2 * time.Minute)
		for {
			req, _ := http.NewRequest("PUT", "http://lms"+path, strings.NewReader(body))
			req.Header.Set("X-Experience-API-Version", XAPIVersion)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode < 300 {
					return
				}
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
			if time.Now().After(deadline) {
				t.Fatalf("PUT %s never acknowledged: %v", path, err)
			}
			<-time.After(10 * time.Millisecond)
		}
	}
	ids := map[string]bool{}
	for i := 0; i < nStatements; i++ {
		id := NewStatementID()
		ids[id] = true
		put(StatementsPath+"?statementId="+id, stmt)
		if i < nResults {
			put(fmt.Sprintf("%s/results/r-%d", GradebookPath, i), fmt.Sprintf(`{"result":{"lineItemSourcedId":"li-fractions-1","studentSourcedId":"u-learner-1","score":%d}}`, i))
		}
	}
	// Keep killing while the outbox drains, until both sides died often.
	for wait := time.Now().Add(time.Minute); dev.kills.Load()+up.kills.Load() < 30 && time.Now().Before(wait); {
		<-time.After(20 * time.Millisecond)
	}
	close(stopKilling)
	<-killerDone
	t.Logf("killed the LMS %d times and the online server %d times", dev.kills.Load(), up.kills.Load())

	// Once both run, the outbox drains; then the online server holds every
	// write exactly once.
	devDB, err := Open(filepath.Join(dir, "dev.db"), true)
	if err != nil {
		t.Fatal(err)
	}
	defer devDB.Close()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		n, err := devDB.Pending(context.Background())
		if err == nil && n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox still holds %d writes (%v)", n, err)
		}
		<-time.After(20 * time.Millisecond)
	}
	upDB, err := Open(filepath.Join(dir, "up.db"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer upDB.Close()
	rows, err := upDB.db.Query(`SELECT id FROM statements`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		got[id]++
	}
	rows.Close()
	for id := range ids {
		if got[id] != 1 {
			t.Errorf("statement %s is on the online server %d times", id, got[id])
		}
	}
	if len(got) != len(ids) {
		t.Errorf("online server has %d statements, want %d", len(got), len(ids))
	}
	results, err := upDB.results("")
	if err != nil || len(results) != nResults {
		t.Fatalf("online server has %d results (%v), want %d", len(results), err, nResults)
	}
	for _, r := range results {
		var i int
		fmt.Sscanf(r.SourcedID, "r-%d", &i)
		if r.Score != float64(i) {
			t.Errorf("result %s has score %v, want %d", r.SourcedID, r.Score, i)
		}
	}
}
