//go:build linux

package lms

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/httpipc/httpipc"
)

// The fault test runs the device's LMS and the online server as separate
// processes (this test binary, started with roleEnv), and kills them with
// SIGKILL while clients write to the LMS and the LMS pushes.
const roleEnv = "LMS_TEST_ROLE"

func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "upstream":
		os.Exit(runUpstream(os.Getenv("LMS_TEST_DB"), os.Getenv("LMS_TEST_ADDR"), os.Getenv("LMS_TEST_GAUGES")))
	case "provider":
		os.Exit(runProvider(os.Getenv("LMS_TEST_DB"), os.Getenv("LMS_TEST_ADDR"), os.Getenv("LMS_TEST_UPSTREAM"), os.Getenv("LMS_TEST_GAUGES")))
	}
	os.Exit(m.Run())
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// gauges are counters that a child process keeps in a small file it maps
// shared, and that the test maps too. A process killed with SIGKILL leaves
// them as they were at the instant it died: what it had in flight.
type gauges struct{ mem []byte }

const (
	gWrites = iota // device: clients' writes being handled
	gPushes        // device: push requests awaiting their answer; online server: pushes being applied
	nGauges
)

func mapGauges(path string) (*gauges, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := f.Truncate(8 * nGauges); err != nil {
		return nil, err
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, 8*nGauges, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	return &gauges{mem}, nil
}

func (g *gauges) at(i int) *atomic.Int64 { return (*atomic.Int64)(unsafe.Pointer(&g.mem[8*i])) }

// counting counts the requests that write (not GET or HEAD) while h
// handles them.
func counting(n *atomic.Int64, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			n.Add(1)
			defer n.Add(-1)
		}
		h.ServeHTTP(w, r)
	})
}

// countingTransport counts the requests that write from the moment they
// are sent until their answer is read.
type countingTransport struct {
	n    *atomic.Int64
	next http.RoundTripper
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return t.next.RoundTrip(r)
	}
	t.n.Add(1)
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		t.n.Add(-1)
		return nil, err
	}
	resp.Body = &countedBody{ReadCloser: resp.Body, n: t.n}
	return resp, nil
}

type countedBody struct {
	io.ReadCloser
	n    *atomic.Int64
	once sync.Once
}

func (b *countedBody) Close() error {
	b.once.Do(func() { b.n.Add(-1) })
	return b.ReadCloser.Close()
}

func runUpstream(dbPath, addr, gaugesPath string) int {
	g, err := mapGauges(gaugesPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
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
	http.Serve(ln, counting(g.at(gPushes), db.Handler(Options{})))
	return 1
}

func runProvider(dbPath, addr, upstream, gaugesPath string) int {
	g, err := mapGauges(gaugesPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
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
	go (&Syncer{DB: db, Upstream: upstream, Interval: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Logger: quiet(),
		Client: &http.Client{Timeout: 5 * time.Second, Transport: countingTransport{g.at(gPushes), http.DefaultTransport}}}).Run(context.Background())
	(&httpipc.Server{Handler: counting(g.at(gWrites), db.Handler(Options{})), Logger: quiet()}).Serve(ln)
	return 1
}

// supervised keeps a process running until stop, and kills it on demand.
type supervised struct {
	t   *testing.T
	env []string
	g   *gauges
	mu  sync.Mutex
	cmd *exec.Cmd
}

func (s *supervised) start() {
	for i := range nGauges {
		s.g.at(i).Store(0)
	}
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

// busy reports whether the process has a write or a push in flight.
func (s *supervised) busy() bool { return s.g.at(gWrites).Load()+s.g.at(gPushes).Load() > 0 }

// kill sends SIGKILL, waits for the process, and starts it again. It
// returns what the process had in flight when it died.
func (s *supervised) kill() (writes, pushes int64) {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	writes, pushes = s.g.at(gWrites).Load(), s.g.at(gPushes).Load()
	s.start()
	return writes, pushes
}

func (s *supervised) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
}

// waitFor polls cond until it holds or d passes, and reports whether it
// held.
func waitFor(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); !cond(); {
		if time.Now().After(deadline) {
			return false
		}
		<-time.After(500 * time.Microsecond)
	}
	return true
}

// killWriter is a client of the LMS that writes until told to stop,
// sending each write again until the LMS acknowledges it, as an app does,
// and remembers what was acknowledged.
type killWriter struct {
	t       *testing.T
	client  *http.Client
	stop    chan struct{}
	backlog *atomic.Int64 // writes in the LMS's outbox
	failed  atomic.Bool
	// Acknowledged writes of each kind.
	statementWrites, resultWrites, docWrites atomic.Int64
}

// maxBacklog is how far the writers may get ahead of the pushes.
const maxBacklog = 64

func (k *killWriter) stopped() bool {
	select {
	case <-k.stop:
		return true
	default:
		return k.failed.Load()
	}
}

// send sends a write until the LMS answers other than 5xx, and returns
// the status.
func (k *killWriter) send(method, path, body string, h http.Header) int {
	if !waitFor(30*time.Second, func() bool { return k.backlog.Load() <= maxBacklog || k.stopped() }) {
		k.t.Errorf("the outbox still holds %d writes after 30 s", k.backlog.Load())
		k.failed.Store(true)
		return 0
	}
	deadline := time.Now().Add(time.Minute)
	for {
		req, _ := http.NewRequest(method, "http://lms"+path, strings.NewReader(body))
		maps.Copy(req.Header, h)
		req.Header.Set("X-Experience-API-Version", XAPIVersion)
		req.Header.Set("Content-Type", "application/json")
		resp, err := k.client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return resp.StatusCode
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			k.t.Errorf("%s %s never acknowledged: %v", method, path, err)
			k.failed.Store(true)
			return 0
		}
		<-time.After(5 * time.Millisecond)
	}
}

// ack sends a write until acknowledged with one of the codes.
func (k *killWriter) ack(method, path, body string, h http.Header, codes ...int) bool {
	code := k.send(method, path, body, h)
	if code == 0 {
		return false
	}
	for _, c := range codes {
		if code == c {
			return true
		}
	}
	k.t.Errorf("%s %s: status %d, want one of %v", method, path, code, codes)
	k.failed.Store(true)
	return false
}

// writeStatements writes statements with their own ids, by PUT and by POST
// of a pair, until stopped; acked gets each acknowledged id and its object
// (named after the writer).
func (k *killWriter) writeStatements(writer string, acked map[string]string) {
	one := func(n int, id string) (string, string) {
		obj := "https://math.example/lessons/kill-" + writer + "-" + strconv.Itoa(n)
		return obj, `{"id":"` + id + `","actor":{"mbox":"mailto:sam@school.example"},"verb":{"id":"` + completed + `"},"object":{"id":"` + obj + `"}}`
	}
	for n := 0; !k.stopped(); n += 2 {
		id1, id2 := NewStatementID(), NewStatementID()
		obj1, s1 := one(n, id1)
		obj2, s2 := one(n+1, id2)
		if n%4 == 0 {
			for _, w := range [][3]string{{id1, obj1, s1}, {id2, obj2, s2}} {
				if k.ack("PUT", StatementsPath+"?statementId="+w[0], w[2], nil, 204) {
					acked[w[0]] = w[1]
					k.statementWrites.Add(1)
				}
			}
		} else if k.ack("POST", StatementsPath, "["+s1+","+s2+"]", nil, 200) {
			acked[id1], acked[id2] = obj1, obj2
			k.statementWrites.Add(1)
		}
	}
}

// writeResults writes the scores of a few gradebook results again and
// again; final gets each result's last acknowledged score.
func (k *killWriter) writeResults(final map[string]float64) {
	for n := 0; !k.stopped(); n++ {
		id := fmt.Sprintf("r-%d", n%4)
		if k.ack("PUT", GradebookPath+"/results/"+id, fmt.Sprintf(`{"result":{"lineItemSourcedId":"li-fractions-1","studentSourcedId":"u-learner-1","score":%d}}`, n), nil, 200, 201) {
			final[id] = float64(n)
			k.resultWrites.Add(1)
		}
	}
}

// docModel is what a document should be after the acknowledged writes:
// its JSON content, or nil when it is gone.
type docModel map[string]map[string]any // by the document's path and query

// writeDocuments writes State documents, Agent Profiles and Activity
// Profiles, by PUT (profiles with If-Match or If-None-Match), POST (merge)
// and DELETE (of one state, and of all states of an activity and agent),
// until stopped; model follows.
func (k *killWriter) writeDocuments(model docModel) {
	act := url.QueryEscape("https://math.example/lessons/kill")
	sam := url.QueryEscape(`{"mbox":"mailto:sam@school.example"}`)
	states := StatePath + "?activityId=" + act + "&agent=" + sam
	for n := 0; !k.stopped(); n++ {
		var path string
		switch n % 3 {
		case 0:
			path = states + "&stateId=s-" + strconv.Itoa(rand.IntN(3))
		case 1:
			path = AgentProfilePath + "?agent=" + sam + "&profileId=p-" + strconv.Itoa(rand.IntN(2))
		default:
			path = ActivityProfilePath + "?activityId=" + act + "&profileId=p-" + strconv.Itoa(rand.IntN(2))
		}
		obj := map[string]any{"k" + strconv.Itoa(rand.IntN(3)): float64(n)}
		body, _ := json.Marshal(obj)
		switch op := rand.IntN(10); {
		case op < 4: // PUT
			h := http.Header{}
			if n%3 != 0 { // profiles: the concurrency headers
				h.Set("If-None-Match", "*")
				if model[path] != nil {
					h = http.Header{"If-Match": {"*"}}
				}
			}
			for try := 0; ; try++ {
				code := k.send("PUT", path, string(body), h)
				if code == 412 && try < 3 {
					// An earlier attempt that was never acknowledged
					// took effect: the document exists (or not) after all.
					if h.Get("If-Match") != "" {
						h = http.Header{"If-None-Match": {"*"}}
					} else {
						h = http.Header{"If-Match": {"*"}}
					}
					continue
				}
				if code == 204 {
					k.docWrites.Add(1)
					model[path] = obj
				} else if code != 0 {
					k.t.Errorf("PUT %s: status %d", path, code)
					k.failed.Store(true)
				}
				break
			}
		case op < 8: // POST: merge
			if k.ack("POST", path, string(body), nil, 204) {
				merged := maps.Clone(model[path])
				if merged == nil {
					merged = map[string]any{}
				}
				maps.Copy(merged, obj)
				model[path] = merged
				k.docWrites.Add(1)
			}
		case op == 9 && n%3 == 0: // DELETE of all the states
			if k.ack("DELETE", states, "", nil, 204) {
				for p := range model {
					if strings.HasPrefix(p, states+"&") {
						model[p] = nil
					}
				}
				k.docWrites.Add(1)
			}
		default: // DELETE of one
			if k.ack("DELETE", path, "", nil, 204) {
				model[path] = nil
				k.docWrites.Add(1)
			}
		}
	}
}

// TestSyncSurvivesKills kills the device's LMS and the online server with
// SIGKILL, each time while one of them has a client's write or a push in
// flight, while clients keep writing every kind of write that syncs and
// the LMS keeps pushing. Then, once both run, the outbox drains and the
// online server must hold every acknowledged write (at least once), and
// its record of applied writes must show every outbox row applied exactly
// once.
func TestSyncSurvivesKills(t *testing.T) {
	began := time.Now()
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
	upG, err := mapGauges(filepath.Join(dir, "up.gauges"))
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(upG.mem)
	devG, err := mapGauges(filepath.Join(dir, "dev.gauges"))
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(devG.mem)
	up := &supervised{t: t, g: upG, env: []string{roleEnv + "=upstream", "LMS_TEST_DB=" + filepath.Join(dir, "up.db"), "LMS_TEST_ADDR=" + upAddr,
		"LMS_TEST_GAUGES=" + filepath.Join(dir, "up.gauges")}}
	dev := &supervised{t: t, g: devG, env: []string{roleEnv + "=provider", "LMS_TEST_DB=" + filepath.Join(dir, "dev.db"), "LMS_TEST_ADDR=" + sock,
		"LMS_TEST_UPSTREAM=http://" + upAddr, "LMS_TEST_GAUGES=" + filepath.Join(dir, "dev.gauges")}}
	devDB, err := Open(filepath.Join(dir, "dev.db"), true)
	if err != nil {
		t.Fatal(err)
	}
	defer devDB.Close()
	ctx := context.Background()
	up.start()
	dev.start()
	defer up.stop()
	defer dev.stop()

	// The clients write throughout, getting at most maxBacklog writes
	// ahead of the pushes.
	var backlog atomic.Int64
	stopPolling := make(chan struct{})
	defer close(stopPolling)
	go func() {
		for {
			if n, err := devDB.Pending(ctx); err == nil {
				backlog.Store(int64(n))
			}
			select {
			case <-stopPolling:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	k := &killWriter{t: t, stop: make(chan struct{}), backlog: &backlog,
		client: &http.Client{Transport: &httpipc.Transport{Service: sock, Logger: quiet()}, Timeout: 10 * time.Second}}
	statements, statements2, results, docs := map[string]string{}, map[string]string{}, map[string]float64{}, docModel{}
	var writers sync.WaitGroup
	writers.Go(func() { k.writeStatements("a", statements) })
	writers.Go(func() { k.writeStatements("b", statements2) })
	writers.Go(func() { k.writeResults(results) })
	writers.Go(func() { k.writeDocuments(docs) })

	// The killer: every 100 to 400 ms, pick a side (the LMS two times in
	// three), wait until it has a write or a push in flight, and kill it
	// 0 to 10 ms later, at some point of that write or push or of the
	// next; until 50 kills have landed while something was in flight (as
	// the frozen gauges of the dead process show).
	const wantLanded, minLanded, maxKills = 50, 20, 120
	var kills, landed, duringWrite, duringPush, duringApply, pushedMeanwhile int
	for deadline := time.Now().Add(45 * time.Second); landed < wantLanded && kills < maxKills && time.Now().Before(deadline) && !k.failed.Load(); {
		<-time.After(time.Duration(100+rand.IntN(300)) * time.Millisecond)
		victim := dev
		if rand.IntN(3) == 0 {
			victim = up
		}
		waitFor(5*time.Second, victim.busy)
		<-time.After(time.Duration(rand.IntN(10000)) * time.Microsecond)
		writes, pushes := victim.kill()
		kills++
		if writes+pushes > 0 {
			landed++
		}
		switch {
		case victim == up && pushes > 0:
			duringApply++
		case victim == dev:
			duringWrite += min(int(writes), 1)
			duringPush += min(int(pushes), 1)
		}
	}
	killing := time.Since(began)
	if err := devDB.db.QueryRow(`SELECT (SELECT seq FROM sqlite_sequence WHERE name = 'outbox') - COUNT(*) FROM outbox`).Scan(&pushedMeanwhile); err != nil {
		t.Fatal(err)
	}
	close(k.stop)
	writersDone := make(chan struct{})
	go func() { writers.Wait(); close(writersDone) }()
	select {
	case <-writersDone:
	case <-time.After(2 * time.Minute):
		t.Fatal("the writers did not finish")
	}
	if t.Failed() {
		t.FailNow()
	}
	maps.Copy(statements, statements2)
	t.Logf("%d kills in %v, %d of them while a write or a push was in flight: %d of the LMS with a client's write in flight, %d of the LMS with a push in flight, %d of the online server applying a push; meanwhile %d writes were acknowledged (%d writing %d statements, %d to %d results, %d to %d documents) and %d pushed",
		kills, killing.Round(time.Millisecond), landed, duringWrite, duringPush, duringApply, k.statementWrites.Load()+k.resultWrites.Load()+k.docWrites.Load(),
		k.statementWrites.Load(), len(statements), k.resultWrites.Load(), len(results), k.docWrites.Load(), len(docs), pushedMeanwhile)
	if landed < minLanded {
		t.Errorf("only %d kills landed while a write or a push was in flight, want %d", landed, minLanded)
	}

	// Once both run, the outbox drains.
	if !waitFor(time.Minute, func() bool { n, err := devDB.Pending(ctx); return err == nil && n == 0 }) {
		n, err := devDB.Pending(ctx)
		t.Fatalf("the outbox still holds %d writes (%v)", n, err)
	}
	upDB, err := Open(filepath.Join(dir, "up.db"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer upDB.Close()

	// At least once: every acknowledged write is on the online server, and
	// each document and result as last written.
	got := map[string]string{}
	rows, err := upDB.db.Query(`SELECT id, json_extract(body, '$.object.id') FROM statements`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, obj string
		rows.Scan(&id, &obj)
		got[id] = obj
	}
	rows.Close()
	for id, obj := range statements {
		if got[id] != obj {
			t.Errorf("statement %s (object %s) is not on the online server (%q)", id, obj, got[id])
		}
	}
	up1, err := upDB.results("")
	if err != nil {
		t.Fatal(err)
	}
	scores := map[string]float64{}
	for _, r := range up1 {
		scores[r.SourcedID] = r.Score
	}
	for id, score := range results {
		if s, ok := scores[id]; !ok || s != score {
			t.Errorf("result %s on the online server: score %v (present %v), want %v", id, s, ok, score)
		}
	}
	for path, want := range docs {
		u, _ := url.Parse(path)
		kind := map[string]docKind{StatePath: docState, AgentProfilePath: docAgentProfile, ActivityProfilePath: docActivityProfile}[u.Path]
		dk, err := parseDocKey(kind, http.MethodGet, u.Query())
		if err != nil {
			t.Fatal(err)
		}
		cur, err := upDB.loadDoc(ctx, upDB.db, dk)
		if err != nil {
			t.Fatal(err)
		}
		var have map[string]any
		if cur != nil {
			json.Unmarshal(cur.body, &have)
		}
		if (cur == nil) != (want == nil) || !reflect.DeepEqual(have, want) {
			t.Errorf("document %s on the online server: %v (present %v), want %v", path, have, cur != nil, want)
		}
	}

	// Exactly once: the online server's record of applied writes holds
	// every outbox row the LMS ever wrote, each applied once.
	var device string
	var rowsWritten int64
	if err := devDB.db.QueryRow(`SELECT id FROM sync_device`).Scan(&device); err != nil {
		t.Fatal(err)
	}
	if err := devDB.db.QueryRow(`SELECT seq FROM sqlite_sequence WHERE name = 'outbox'`).Scan(&rowsWritten); err != nil {
		t.Fatal(err)
	}
	rows, err = upDB.db.Query(`SELECT principal, writeId, applications, redeliveries FROM applied`)
	if err != nil {
		t.Fatal(err)
	}
	applied, redeliveries := map[int64]bool{}, 0
	for rows.Next() {
		var principal, id string
		var n, re int
		rows.Scan(&principal, &id, &n, &re)
		seq, err := strconv.ParseInt(strings.TrimPrefix(id, device+"/"), 10, 64)
		if principal != "" || err != nil || seq < 1 || seq > rowsWritten {
			t.Errorf("the online server applied write %q of %q, which the LMS never wrote", id, principal)
			continue
		}
		applied[seq] = true
		redeliveries += re
		if n != 1 {
			t.Errorf("the online server applied write %s (outbox row %d) %d times", id, seq, n)
		}
	}
	rows.Close()
	for seq := int64(1); seq <= rowsWritten; seq++ {
		if !applied[seq] {
			t.Errorf("outbox row %d was never applied on the online server", seq)
		}
	}
	t.Logf("%d outbox rows, each applied once; %d redeliveries recognized; %v in all", rowsWritten, redeliveries, time.Since(began).Round(time.Millisecond))
}
