// Package bench measures httpipc against the ways a Go developer could
// reach a local provider today, with the client here and the provider in a
// separate process, all in one run on the same machine.
//
// Contenders: raw-unix (a length-prefixed ping-pong on a Unix socket, the
// physical limit), handler-floor (the least a transport of HTTP semantics
// can do over that socket; rtt-64B only), nethttp-unix (net/http HTTP/1.1 over a Unix socket),
// nethttp-tcp (net/http over loopback TCP), httpipc-unix and httpipc-proxy
// (net/http to the localhost proxy, which forwards over httpipc); for some
// scenarios also the message channels and a bare godbus method call (see
// the constants; the D-Bus ones run on a private dbus-daemon when it is
// installed). Scenarios: rtt-64B and rtt-64KiB (echo a body of that size),
// stream-16MiB (download), concurrent-64x64B (64 callers at once),
// stream-1GiB-echo (1 GiB up and back through an httpipc provider, recording
// how much its peak RSS grew), and cold-start (from no provider running to
// its first response, for each way a provider is started on demand).
//
// Options.Runs repeats the whole measurement; Summarize reports, per cell,
// the median over the runs and the range.
package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/internal/procstat"
	"github.com/httpipc/httpipc/proxy"
)

// Contenders, in the order they are reported.
const (
	RawUnix     = "raw-unix"
	NetHTTPUnix = "nethttp-unix"
	NetHTTPTCP  = "nethttp-tcp"
	HTTPIPCUnix = "httpipc-unix"
	// HandlerFloor is the least a transport of HTTP semantics can do over
	// the raw socket: method, path and content framed by lengths, an
	// http.Request built and the same handler called, an http.Response
	// built from the status and content; no header field either way
	// (rtt-64B only).
	HandlerFloor = "handler-floor"
	// MessageLocal is message mode over an in-process channel (the cost of
	// the adapter alone); MessageSeqPacket is message mode over a Linux
	// SOCK_SEQPACKET socket to the provider process. Both run rtt-64B only.
	MessageLocal     = "message-local"
	MessageSeqPacket = "message-seqpacket"
	// StreamsOverMessages is the stream protocol over an in-process message
	// channel with 16 KiB messages and a 128 KiB window (stream-16MiB only).
	StreamsOverMessages = "httpipc-messages"
	// The D-Bus contenders reach the provider through a private dbus-daemon
	// (left out when it is not installed): MessageDBus is message mode, a
	// method call each way; DBusMessages is the stream protocol over one-way
	// method calls of 16 KiB; DBusFD is the stream protocol over a socket
	// handed over the bus.
	MessageDBus  = "message-dbus"
	DBusMessages = "httpipc-dbus-messages"
	DBusFD       = "httpipc-dbus-fd"
	// GoDBus is the bus's own ceiling, without httpipc: a bare godbus
	// method call on the same private bus, echoing a 64-byte ay (rtt-64B),
	// or the download moved as one-way method calls of a 16 KiB ay each, as
	// httpipc-dbus-messages moves its frames (stream-16MiB).
	GoDBus = "godbus"
	// HTTPIPCProxy is net/http to the embedded localhost proxy (package
	// proxy, in this process), which forwards over httpipc-unix: compare it
	// with nethttp-tcp, the same handler reached directly.
	HTTPIPCProxy = "httpipc-proxy"
	// KotlinOkHTTP is the Kotlin/JVM client (OkHttp through httpipc's
	// Call.Factory) in a JVM of its own, against the same provider as
	// httpipc-unix (rtt-64B and stream-16MiB; only with Options.JVM).
	KotlinOkHTTP = "kotlin-okhttp"
)

// Contenders of the cold-start scenario: how the provider is started.
const (
	// ColdExec is the baseline: the benchmark runs the provider itself,
	// which listens on a socket of its own and says when it is ready.
	ColdExec = "exec"
	// ColdLauncher is httpipc's client-side activation: the client finds
	// no provider behind a service-directory entry and starts the entry's
	// program on a socket it creates (package activation).
	ColdLauncher = "servicedir-launch"
	// ColdSystemd is systemd-socket-activate holding the socket and
	// starting the provider on the first connection (when installed).
	ColdSystemd = "systemd-socket-activate"
	// ColdDBus is D-Bus activation: a private dbus-daemon starts the
	// provider from the .service file in its services directory, and the
	// request is a message-mode call (when dbus-daemon is installed).
	ColdDBus = "dbus-activation"
)

// Scenarios, in the order they are run.
const (
	RTT64B       = "rtt-64B"
	RTT64KiB     = "rtt-64KiB"
	Stream16MiB  = "stream-16MiB"
	Concurrent64 = "concurrent-64x64B"
	Echo1GiB     = "stream-1GiB-echo"
	ColdStart    = "cold-start"
)

// Scenarios returns the names of every scenario, in the order they run.
func Scenarios() []string {
	return []string{RTT64B, RTT64KiB, Stream16MiB, Concurrent64, Echo1GiB, ColdStart}
}

// Result is one measured cell. Run returns the cells summarised over the
// runs (see Summarize).
type Result struct {
	Scenario  string `json:"scenario"`
	Contender string `json:"contender"`
	// Ops is how many operations were timed, over all runs; in cold-start,
	// how many starts.
	Ops int `json:"ops"`
	// NsPerOp is the time per operation, the median over the runs; in
	// cold-start, the median time of a start.
	NsPerOp float64 `json:"ns_per_op"`
	// BytesPerS is the payload moved per second, both ways for an echo;
	// zero in cold-start.
	BytesPerS float64 `json:"bytes_per_s"`
	// PeakRSSDeltaBytes is how much the provider's peak resident set grew
	// during the scenario (stream-1GiB-echo only).
	PeakRSSDeltaBytes int64 `json:"peak_rss_delta_bytes,omitempty"`
	// Runs is how many runs measured the cell, and NsPerOpMin and
	// NsPerOpMax the range of NsPerOp over them.
	Runs       int     `json:"runs"`
	NsPerOpMin float64 `json:"ns_per_op_min"`
	NsPerOpMax float64 `json:"ns_per_op_max"`
	// Ratios maps each of the Baselines measured in the same scenario to
	// this cell's time per operation over the baseline's: taken within
	// each run, then the median over the runs and the range.
	Ratios map[string]Spread `json:"ratios,omitempty"`
	// StartsNs is the time of every timed start, over all runs
	// (cold-start only).
	StartsNs []float64 `json:"starts_ns,omitempty"`
}

// Options tune a run. The zero value is the default run.
type Options struct {
	// Duration is how long each cell runs at least. Zero means 700ms.
	Duration time.Duration
	// Echo1GiBSize overrides the size of the big echo (tests use less).
	// Zero means 1 GiB; negative skips the scenario.
	Echo1GiBSize int64
	// StreamSize overrides the size of stream-16MiB (tests use less).
	// Zero means 16 MiB.
	StreamSize int
	// Provider is the command that runs the provider process; it must call
	// MaybeServe early. Nil means this executable.
	Provider []string
	// JVM, when set, is the command that starts the Kotlin client's
	// benchmark loop, such as java -jar httpipc-jvm.jar bench-client; it
	// adds the kotlin-okhttp contender (see jvmClient).
	JVM []string
	// Only, when not empty, names the scenarios to run (see Scenarios);
	// an unknown name is an error.
	Only []string
	// Runs is how many times the whole measurement runs, each with fresh
	// processes (provider, private buses, JVM). Zero means once.
	Runs int
	// ColdStarts is how many timed starts each cold-start contender makes
	// per run, after one untimed start. Zero means 10.
	ColdStarts int
	// Notes, when set, receives a line for each contender left out, and
	// why.
	Notes io.Writer
	// Pin binds this process, for good, to one CPU before anything is
	// measured, and so every process the run starts (Linux only). On one
	// CPU nothing waits for a wakeup on another: the times are the CPU work
	// of each contender, client and provider together, and vary little
	// from run to run, where without Pin they also depend on where the
	// scheduler places the two sides.
	Pin bool
	// Split binds this process (the clients, the in-process proxy, the
	// JVM, the private dbus-daemon) to one CPU and the processes it
	// starts to serve them (the provider, the proxy of stream-1GiB-echo)
	// to another (Linux, at least two CPUs; not with Pin). Every request
	// then wakes a process on the other CPU, so the times show the cost
	// of a cross-CPU wakeup on this machine, which a small round trip is
	// made of, and they too vary little from run to run. The cold-start
	// providers run on the clients' CPU.
	Split bool

	providerEnv []string // added to the environment of the provider processes
}

const (
	providerEnv = "HTTPIPC_BENCH_PROVIDER"
	busEnv      = "HTTPIPC_BENCH_BUS" // the private bus the provider serves on
	// proxyEnv makes the process a localhost proxy in front of the
	// httpipc provider at this socket, and nothing else.
	proxyEnv = "HTTPIPC_BENCH_PROXY_FOR"
	// cpuEnv makes a provider process bind itself to this CPU first
	// (Options.Split).
	cpuEnv = "HTTPIPC_BENCH_CPU"
)

// rounds is how many turns each contender of a scenario gets.
const rounds = 5

// addrs is what the provider process prints once it is ready.
type addrs struct {
	Raw     string `json:"raw"`
	Floor   string `json:"floor"`
	HTTPIPC string `json:"httpipc"`
	HTTP    string `json:"http_unix"`
	TCP     string `json:"tcp"`
	Packet  string `json:"seqpacket,omitempty"`
	DBus    string `json:"dbus,omitempty"`
	Proxy   string `json:"proxy,omitempty"` // a proxy process's base URL
	PID     int    `json:"pid"`
}

// Run measures every cell of the selected scenarios, Options.Runs times,
// and returns the cells summarised over the runs (see Summarize).
func Run(ctx context.Context, opt Options) ([]Result, error) {
	if opt.Duration <= 0 {
		opt.Duration = 700 * time.Millisecond
	}
	if opt.ColdStarts <= 0 {
		opt.ColdStarts = 10
	}
	if opt.Notes == nil {
		opt.Notes = io.Discard
	}
	sel, err := selectScenarios(opt.Only)
	if err != nil {
		return nil, err
	}
	if opt.Echo1GiBSize < 0 {
		delete(sel, Echo1GiB)
	}
	if len(sel) == 0 {
		return nil, errors.New("no scenario left to run")
	}
	if err := place(&opt); err != nil {
		return nil, err
	}
	var runs [][]Result
	for i := 0; i < max(opt.Runs, 1); i++ {
		results, err := runOnce(ctx, opt, sel, i == 0)
		if err != nil {
			return Summarize(append(runs, results)), err
		}
		runs = append(runs, results)
	}
	return Summarize(runs), nil
}

// place binds this process to the CPUs that opt.Pin or opt.Split ask for,
// and records where the provider processes go.
func place(opt *Options) error {
	if !opt.Pin && !opt.Split {
		return nil
	}
	if opt.Pin && opt.Split {
		return errors.New("pin and split contradict each other: choose one CPU for every process, or one for the clients and another for the providers")
	}
	cpus, err := allowedCPUs()
	if err != nil {
		return err
	}
	if opt.Pin {
		if err := pinTo(cpus[0]); err != nil {
			return err
		}
		fmt.Fprintf(opt.Notes, "every process of the run is bound to CPU %d\n", cpus[0])
		return nil
	}
	if len(cpus) < 2 {
		return fmt.Errorf("split: this process may run on CPU %d alone; it takes two", cpus[0])
	}
	if err := pinTo(cpus[0]); err != nil {
		return err
	}
	opt.providerEnv = []string{cpuEnv + "=" + strconv.Itoa(cpus[1])}
	fmt.Fprintf(opt.Notes, "the clients are bound to CPU %d, the provider process to CPU %d\n", cpus[0], cpus[1])
	return nil
}

// selectScenarios returns the set of scenarios named in only, all of them
// when only is empty.
func selectScenarios(only []string) (map[string]bool, error) {
	sel := map[string]bool{}
	all := Scenarios()
	if len(only) == 0 {
		for _, s := range all {
			sel[s] = true
		}
		return sel, nil
	}
	for _, s := range only {
		if !slices.Contains(all, s) {
			return nil, fmt.Errorf("%w %q; the scenarios are %s", ErrUnknownScenario, s, strings.Join(all, ", "))
		}
		sel[s] = true
	}
	return sel, nil
}

// ErrUnknownScenario is wrapped by the error of a run that names a scenario
// that does not exist.
var ErrUnknownScenario = errors.New("unknown scenario")

// runOnce is one run of the selected scenarios, with processes of its own.
// notes says whether to report contenders left out.
func runOnce(ctx context.Context, opt Options, sel map[string]bool, notes bool) ([]Result, error) {
	note := func(format string, args ...any) {
		if notes {
			fmt.Fprintf(opt.Notes, format+"\n", args...)
		}
	}
	var main []string
	for _, s := range []string{RTT64B, RTT64KiB, Stream16MiB, Concurrent64} {
		if sel[s] {
			main = append(main, s)
		}
	}
	var results []Result
	if len(main) > 0 {
		rs, err := runMain(ctx, opt, main, note)
		results = append(results, rs...)
		if err != nil {
			return results, err
		}
	}
	if sel[Echo1GiB] {
		size := opt.Echo1GiBSize
		if size == 0 {
			size = 1 << 30
		}
		for _, through := range []string{HTTPIPCUnix, HTTPIPCProxy} {
			r, err := echoRSS(ctx, opt, size, through)
			if err != nil {
				return results, fmt.Errorf("%s via %s: %w", Echo1GiB, through, err)
			}
			results = append(results, r)
		}
	}
	if sel[ColdStart] {
		rs, err := coldStart(ctx, opt, note)
		results = append(results, rs...)
		if err != nil {
			return results, fmt.Errorf("%s: %w", ColdStart, err)
		}
	}
	return results, nil
}

// runMain starts a provider process and measures the cells of the
// scenarios named, which are among rtt-64B, rtt-64KiB, stream-16MiB and
// concurrent-64x64B.
func runMain(ctx context.Context, opt Options, scenarios []string, note func(string, ...any)) ([]Result, error) {
	busAddr, stopBus, err := startBus()
	if err != nil {
		return nil, err
	}
	defer stopBus()
	var env []string
	if busAddr != "" {
		env = append(env, busEnv+"="+busAddr)
	}
	p, err := startProvider(ctx, opt, env...)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	clients := map[string]*http.Client{
		NetHTTPUnix: {Transport: &http.Transport{MaxIdleConnsPerHost: 128, DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", p.a.HTTP)
		}}},
		NetHTTPTCP:  {Transport: &http.Transport{MaxIdleConnsPerHost: 128}},
		HTTPIPCUnix: {Transport: &httpipc.Transport{Service: "unix:" + p.a.HTTPIPC, MaxIdleConns: 128}},
	}
	base := map[string]string{NetHTTPUnix: "http://bench", NetHTTPTCP: "http://" + p.a.TCP, HTTPIPCUnix: "http://bench"}
	floor := &floorTransport{path: p.a.Floor}
	defer floor.close()
	clients[HandlerFloor], base[HandlerFloor] = &http.Client{Transport: floor}, "http://bench"
	messageClients, closeMessage, err := messageContenders(ctx, p.a)
	if err != nil {
		return nil, err
	}
	defer closeMessage()
	for name, c := range messageClients {
		clients[name], base[name] = c, "http://bench"
	}
	// Contenders that are not HTTP clients: an operation of size bytes,
	// echoed or (stream) downloaded.
	plain := map[string]func(size int, stream bool) func() error{}
	raw := &rawPool{path: p.a.Raw}
	defer raw.close()
	plain[RawUnix] = func(size int, stream bool) func() error {
		return func() error { return raw.op(size, stream) }
	}
	if p.a.DBus != "" {
		dbusClients, bare, closeDBus, err := dbusContenders(ctx, busAddr, p.a.DBus)
		if err != nil {
			return nil, fmt.Errorf("D-Bus contenders: %w", err)
		}
		defer closeDBus()
		for name, c := range dbusClients {
			clients[name], base[name] = c, "http://bench"
		}
		plain[GoDBus] = bare
	} else {
		note("%s, %s, %s and %s left out: no private bus (%v)", MessageDBus, DBusMessages, DBusFD, GoDBus, noBusReason())
	}
	px := &proxy.Proxy{Service: "unix:" + p.a.HTTPIPC, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	pln, err := proxy.Listen("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go px.Serve(pln)
	defer px.Close()
	clients[HTTPIPCProxy] = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}}
	base[HTTPIPCProxy] = px.BaseURL(pln.Addr())

	var jvm *jvmClient
	if len(opt.JVM) > 0 {
		if jvm, err = startJVMClient(ctx, opt.JVM, "unix:"+p.a.HTTPIPC); err != nil {
			return nil, fmt.Errorf("%s: %w", KotlinOkHTTP, err)
		}
		defer jvm.stop()
	}

	streamSize := opt.StreamSize
	if streamSize <= 0 {
		streamSize = 16 << 20
	}
	var results []Result
	for _, sc := range []struct {
		name string
		size int
		par  int
	}{{RTT64B, 64, 1}, {RTT64KiB, 64 << 10, 1}, {Stream16MiB, streamSize, 1}, {Concurrent64, 64, 64}} {
		if !slices.Contains(scenarios, sc.name) {
			continue
		}
		contenders := []string{RawUnix, NetHTTPUnix, NetHTTPTCP, HTTPIPCUnix, HTTPIPCProxy}
		var more []string
		switch sc.name {
		case RTT64B:
			contenders = slices.Insert(contenders, 1, HandlerFloor)
			more = []string{MessageLocal, MessageSeqPacket, MessageDBus, DBusMessages, DBusFD, GoDBus}
		case Stream16MiB:
			more = []string{StreamsOverMessages, DBusMessages, DBusFD, GoDBus}
		}
		for _, m := range more {
			if clients[m] != nil || plain[m] != nil {
				contenders = append(contenders, m)
			}
		}
		if jvm != nil && (sc.name == RTT64B || sc.name == Stream16MiB) {
			contenders = append(contenders, KotlinOkHTTP)
		}
		// The contenders of a scenario take turns in short rounds, so that a
		// change in the machine's load during the run hits them alike.
		stream := sc.name == Stream16MiB
		ops := make([]func() error, len(contenders))
		total := make([]Result, len(contenders))
		for i, c := range contenders {
			if c == KotlinOkHTTP {
				continue // measured by jvm
			}
			if plain[c] != nil {
				ops[i] = plain[c](sc.size, stream)
			} else {
				ops[i] = httpOp(clients[c], base[c], sc.size, stream)
			}
		}
		for round := 0; round < rounds; round++ {
			for i, c := range contenders {
				if err := ctx.Err(); err != nil {
					return results, err
				}
				warm := 3 * sc.par
				if stream || round > 0 {
					warm = sc.par
				}
				var r Result
				var err error
				if c == KotlinOkHTTP {
					r, err = jvm.measure(sc.size, stream, opt.Duration/rounds, round == 0)
				} else {
					r, err = measure(ctx, opt.Duration/rounds, sc.par, warm, ops[i])
				}
				if err != nil {
					return results, fmt.Errorf("%s/%s: %w", sc.name, c, err)
				}
				total[i].Ops += r.Ops
				total[i].NsPerOp += r.NsPerOp * float64(r.Ops) // elapsed ns
			}
		}
		for i, c := range contenders {
			r := Result{Scenario: sc.name, Contender: c, Ops: total[i].Ops, NsPerOp: total[i].NsPerOp / float64(total[i].Ops)}
			moved := float64(sc.size)
			if !stream {
				moved *= 2
			}
			r.BytesPerS = moved / (r.NsPerOp / 1e9)
			results = append(results, r)
		}
	}
	return results, nil
}

// measure runs op from par goroutines until d has passed, after warm
// operations.
func measure(ctx context.Context, d time.Duration, par, warm int, op func() error) (Result, error) {
	for i := 0; i < warm; i++ {
		if err := op(); err != nil {
			return Result{}, err
		}
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		ops   int
		first error
	)
	start := time.Now()
	deadline := start.Add(d)
	for g := 0; g < par; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			// At least one operation per round, however slow.
			for n == 0 || time.Now().Before(deadline) && ctx.Err() == nil {
				if err := op(); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
				n++
			}
			mu.Lock()
			ops += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	if first != nil {
		return Result{}, first
	}
	if ops == 0 {
		return Result{}, errors.New("no operation completed")
	}
	el := time.Since(start)
	return Result{Ops: ops, NsPerOp: float64(el.Nanoseconds()) / float64(ops)}, nil
}

// httpOp is one request: echo size bytes, or download them.
func httpOp(c *http.Client, base string, size int, stream bool) func() error {
	payload := strings.Repeat("x", size)
	buf := make([]byte, 64<<10)
	return func() error {
		var resp *http.Response
		var err error
		if stream {
			resp, err = c.Get(base + "/download?n=" + strconv.Itoa(size))
		} else {
			resp, err = c.Post(base+"/echo", "application/octet-stream", strings.NewReader(payload))
		}
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		n, err := io.CopyBuffer(io.Discard, resp.Body, buf)
		if err != nil {
			return err
		}
		if resp.StatusCode != 200 || n != int64(size) {
			return fmt.Errorf("status %d, %d bytes, want %d", resp.StatusCode, n, size)
		}
		return nil
	}
}

// connPool keeps the connections of a contender that speaks a protocol of
// its own over a Unix socket, one exchange at a time on each.
type connPool[C any] struct {
	mu   sync.Mutex
	idle []C
	all  []C
}

// get returns an idle connection, or one from dial.
func (p *connPool[C]) get(dial func() (C, error)) (C, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	c, err := dial()
	if err != nil {
		return c, err
	}
	p.mu.Lock()
	p.all = append(p.all, c)
	p.mu.Unlock()
	return c, nil
}

// put gives back a connection whose exchange went well.
func (p *connPool[C]) put(c C) {
	p.mu.Lock()
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// closeAll closes every connection the pool made, with closeConn.
func (p *connPool[C]) closeAll(closeConn func(C)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.all {
		closeConn(c)
	}
}

// rawPool keeps raw connections for the ping-pong contender.
type rawPool struct {
	path  string
	conns connPool[*rawConn]
}

type rawConn struct {
	c   net.Conn
	br  *bufio.Reader
	buf []byte
}

func (p *rawPool) op(size int, stream bool) error {
	rc, err := p.conns.get(func() (*rawConn, error) {
		c, err := net.Dial("unix", p.path)
		if err != nil {
			return nil, err
		}
		return &rawConn{c: c, br: bufio.NewReaderSize(c, 64<<10), buf: make([]byte, 8+128<<10)}, nil
	})
	if err != nil {
		return err
	}
	if err := rc.exchange(size, stream); err != nil {
		return err
	}
	p.conns.put(rc)
	return nil
}

// exchange sends a header (8 bytes: length, with the top bit set for a
// download) and the payload, and reads the length-prefixed answer.
func (rc *rawConn) exchange(size int, stream bool) error {
	hdr := uint64(size)
	out := rc.buf[:8]
	switch {
	case stream:
		hdr |= 1 << 63
	case 8+size <= len(rc.buf):
		out = rc.buf[:8+size]
	default:
		out = make([]byte, 8+size)
	}
	binary.BigEndian.PutUint64(out, hdr)
	if _, err := rc.c.Write(out); err != nil {
		return err
	}
	var lb [8]byte
	if _, err := io.ReadFull(rc.br, lb[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint64(lb[:])
	if n != uint64(size) {
		return fmt.Errorf("raw: answer of %d bytes, want %d", n, size)
	}
	_, err := io.CopyBuffer(io.Discard, io.LimitReader(rc.br, int64(n)), rc.buf)
	return err
}

func (p *rawPool) close() {
	p.conns.closeAll(func(rc *rawConn) { rc.c.Close() })
}

type provider struct {
	cmd   *exec.Cmd
	stdin io.Closer
	a     addrs
	dir   string
}

func startProvider(ctx context.Context, opt Options, env ...string) (*provider, error) {
	dir, err := os.MkdirTemp("", "httpipc-bench-")
	if err != nil {
		return nil, err
	}
	argv := opt.Provider
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		argv = []string{exe}
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = slices.Concat(os.Environ(), []string{providerEnv + "=" + dir}, opt.providerEnv, env)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	// The provider exits when this pipe closes, even if this process dies.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting the provider process: %w", err)
	}
	p := &provider{cmd: cmd, dir: dir, stdin: stdin}
	line, err := bufio.NewReader(out).ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &p.a)
	}
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("provider process did not report its addresses: %v", err)
	}
	return p, nil
}

func (p *provider) stop() {
	p.stdin.Close()
	if p.cmd.Process != nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	}
	os.RemoveAll(p.dir)
}

// echoRSS streams size bytes up to a fresh httpipc provider and back, and
// reports how much the peak RSS of the process the bytes went through grew:
// the provider's (through HTTPIPCUnix), or that of a localhost proxy in a
// process of its own in front of it (through HTTPIPCProxy, the client
// using net/http).
func echoRSS(ctx context.Context, opt Options, size int64, through string) (Result, error) {
	p, err := startProvider(ctx, opt)
	if err != nil {
		return Result{}, err
	}
	defer p.stop()
	c := &http.Client{Transport: &httpipc.Transport{Service: "unix:" + p.a.HTTPIPC}}
	base, pid := "http://bench", p.a.PID
	if through == HTTPIPCProxy {
		px, err := startProvider(ctx, opt, proxyEnv+"="+p.a.HTTPIPC)
		if err != nil {
			return Result{}, err
		}
		defer px.stop()
		c, base, pid = &http.Client{}, px.a.Proxy, px.a.PID
	}
	// Warm up so that the baseline includes a served request.
	if err := httpOp(c, base, 64<<10, false)(); err != nil {
		return Result{}, err
	}
	before, err := procstat.PeakRSS(pid)
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	pr, pw := io.Pipe()
	go func() {
		buf := make([]byte, 32<<10)
		for left := size; left > 0; {
			n := min(left, int64(len(buf)))
			if _, err := pw.Write(buf[:n]); err != nil {
				return
			}
			left -= n
		}
		pw.Close()
	}()
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/echo", pr)
	resp, err := c.Do(req)
	if err != nil {
		return Result{}, err
	}
	n, err := io.CopyBuffer(io.Discard, resp.Body, make([]byte, 64<<10))
	resp.Body.Close()
	if err != nil {
		return Result{}, err
	}
	if n != size {
		return Result{}, fmt.Errorf("echoed %d bytes, want %d", n, size)
	}
	el := time.Since(start)
	after, err := procstat.PeakRSS(pid)
	if err != nil {
		return Result{}, err
	}
	return Result{Scenario: Echo1GiB, Contender: through, Ops: 1, NsPerOp: float64(el.Nanoseconds()),
		BytesPerS: float64(2*size) / el.Seconds(), PeakRSSDeltaBytes: after - before}, nil
}
