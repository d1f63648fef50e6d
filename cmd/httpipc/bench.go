package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/httpipc/httpipc/internal/bench"
)

const benchAbout = `Measures, in one run on this machine, the client here against a provider in a separate
process. Scenarios, in the order they run (--only picks some):
  rtt-64B            echo 64 bytes, one caller at a time
  rtt-64KiB          echo 64 KiB
  stream-16MiB       download 16 MiB (--stream-bytes)
  concurrent-64x64B  64 callers echoing 64 bytes at once
  stream-1GiB-echo   1 GiB up and back through an httpipc provider, and how much the
                     provider's peak RSS grew; then the same through a localhost proxy in
                     a process of its own, and how much the proxy's grew (--skip-1gib
                     leaves it out)
  cold-start         from no provider running to its first response, the median of
                     --cold-starts starts (after one untimed start), for each way of
                     starting one: exec (the bench runs the provider itself and waits
                     for it to say it listens: the baseline), servicedir-launch (httpipc's
                     client-side activation from a service-directory entry),
                     systemd-socket-activate and dbus-activation (a private dbus-daemon
                     starts it from its services directory), the last two when installed;
                     each start begins with no provider and no socket left from the last
The first four scenarios' contenders: raw-unix, a Unix-socket ping-pong (the physical
limit); net/http over a Unix socket and over loopback TCP; httpipc over a Unix socket;
net/http through the localhost proxy (httpipc proxy) to httpipc. rtt-64B adds
handler-floor, the least a transport of HTTP semantics can do over the raw socket (method,
path and content framed by lengths, no header field; an http.Request built and the same
handler called; an http.Response built), and message mode (in process, over SOCK_SEQPACKET,
over D-Bus); stream-16MiB adds the stream protocol over 16 KiB messages (in process, over
D-Bus); both add the stream protocol over a socket handed over D-Bus and godbus, a bare
godbus method call with the same payload (an ay echo, or the download as one-way calls of
16 KiB): the bus's own ceiling. The D-Bus rows need dbus-daemon, which the run starts
privately. The contenders of a scenario take turns in rounds. Prints each cell and its time
per operation relative to raw-unix, handler-floor, nethttp-unix, nethttp-tcp, httpipc-unix,
godbus and exec where the scenario has them. --runs N repeats the whole measurement N
times, each with fresh processes, and prints for each cell the median over the runs and the
range (min-max); --json prints the same as JSON. --pin binds the run and every process it
starts to one CPU (Linux): the times are then the CPU work of each contender, which varies
little between runs; without it they also depend on whether the scheduler puts the two
sides on one CPU or wakes one on another. --split binds the clients (and the in-process
proxy, the JVM and the private dbus-daemon) to one CPU and the provider processes to another (Linux): every request
then wakes the other CPU, and the times show what that wakeup costs on this machine, again
with little variation. The two bracket a run without either.`

// benchConfig is what the flags of httpipc bench ask for.
type benchConfig struct {
	opt    bench.Options
	asJSON bool
}

// scenarioList collects --only: comma-separated scenario names, the flag
// repeatable.
type scenarioList []string

func (l *scenarioList) String() string { return strings.Join(*l, ",") }

func (l *scenarioList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !slices.Contains(bench.Scenarios(), s) {
			return fmt.Errorf("unknown scenario %q; the scenarios are %s", s, strings.Join(bench.Scenarios(), ", "))
		}
		if !slices.Contains(*l, s) {
			*l = append(*l, s)
		}
	}
	return nil
}

func parseBenchFlags(args []string, stderr io.Writer) (benchConfig, error) {
	fs := newFlags("bench", "[--json] [--only SCENARIO[,SCENARIO...]] [--runs N] [--duration D] [--cold-starts N] [--skip-1gib] [--pin | --split]", benchAbout, stderr)
	asJSON := fs.Bool("json", false, "print a JSON array of results instead of a table")
	dur := fs.Duration("duration", 700*time.Millisecond, "how long each cell runs, per run")
	skipBig := fs.Bool("skip-1gib", false, "skip the stream-1GiB-echo scenario")
	streamBytes := fs.Int("stream-bytes", 16<<20, "size of the download in the stream-16MiB scenario")
	jar := fs.String("jvm", "", "add the Kotlin client (kotlin-okhttp) from this httpipc-jvm.jar, run with java from PATH")
	var only scenarioList
	fs.Var(&only, "only", "run only these `SCENARIOS` (comma-separated, or the flag repeated): "+strings.Join(bench.Scenarios(), ", "))
	runs := fs.Int("runs", 1, "repeat the whole measurement this many times, with fresh processes, and report medians and ranges")
	coldStarts := fs.Int("cold-starts", 10, "timed starts per contender and run in the cold-start scenario")
	pin := fs.Bool("pin", false, "bind the run and every process it starts to one CPU (Linux), to measure CPU work alone")
	split := fs.Bool("split", false, "bind the clients to one CPU and the provider processes to another (Linux), so that every request wakes the other CPU")
	if err := parseFlags(fs, args); err != nil {
		return benchConfig{}, err
	}
	if fs.NArg() > 0 {
		return benchConfig{}, usagef("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case *streamBytes <= 0:
		return benchConfig{}, usagef("--stream-bytes must be positive, not %d", *streamBytes)
	case *runs < 1:
		return benchConfig{}, usagef("--runs must be at least 1, not %d", *runs)
	case *coldStarts < 1:
		return benchConfig{}, usagef("--cold-starts must be at least 1, not %d", *coldStarts)
	case *dur <= 0:
		return benchConfig{}, usagef("--duration must be positive, not %v", *dur)
	case *pin && *split:
		return benchConfig{}, usagef("--pin and --split contradict each other")
	case *skipBig && slices.Contains(only, bench.Echo1GiB):
		return benchConfig{}, usagef("--skip-1gib and --only %s contradict each other", bench.Echo1GiB)
	}
	cfg := benchConfig{asJSON: *asJSON, opt: bench.Options{
		Duration:   *dur,
		StreamSize: *streamBytes,
		Only:       only,
		Runs:       *runs,
		ColdStarts: *coldStarts,
		Pin:        *pin,
		Split:      *split,
	}}
	if *jar != "" {
		cfg.opt.JVM = []string{"java", "-jar", *jar, "bench-client"}
	}
	if *skipBig {
		cfg.opt.Echo1GiBSize = -1
	}
	return cfg, nil
}

func runBench(args []string, stdout, stderr io.Writer) error {
	cfg, err := parseBenchFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg.opt.Notes = stderr
	results, err := bench.Run(ctx, cfg.opt)
	if err != nil {
		return err
	}
	if cfg.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	printTable(stdout, results, max(cfg.opt.Runs, 1))
	return nil
}

// spreadCell formats a median, and its range when there were several runs.
func spreadCell(s bench.Spread, runs int, verb string) string {
	if runs <= 1 {
		return fmt.Sprintf(verb, s.Median)
	}
	return fmt.Sprintf(verb+" ("+verb+"-"+verb+")", s.Median, s.Min, s.Max)
}

func printTable(w io.Writer, results []bench.Result, runs int) {
	// The ratio columns: the baselines some cell is compared with.
	var cols []string
	for _, b := range bench.Baselines {
		if b == bench.ColdExec {
			continue // in the cold-start table
		}
		for _, r := range results {
			if _, ok := r.Ratios[b]; ok && r.Scenario != bench.ColdStart {
				cols = append(cols, b)
				break
			}
		}
	}
	var main, cold []bench.Result
	for _, r := range results {
		switch r.Scenario {
		case bench.Echo1GiB:
		case bench.ColdStart:
			cold = append(cold, r)
		default:
			main = append(main, r)
		}
	}
	if len(main) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprint(tw, "scenario\tcontender\tops\tns/op\tMB/s\t")
		for _, b := range cols {
			fmt.Fprintf(tw, "x %s\t", b)
		}
		fmt.Fprintln(tw)
		for _, r := range main {
			ns := bench.Spread{Median: r.NsPerOp, Min: r.NsPerOpMin, Max: r.NsPerOpMax}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%.1f\t", r.Scenario, r.Contender, r.Ops, spreadCell(ns, r.Runs, "%.0f"), r.BytesPerS/1e6)
			for _, b := range cols {
				if s, ok := r.Ratios[b]; ok {
					fmt.Fprintf(tw, "%s\t", spreadCell(s, r.Runs, "%.2f"))
				} else {
					fmt.Fprint(tw, "\t")
				}
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
	}
	for _, r := range results {
		if r.Scenario == bench.Echo1GiB {
			through := "provider"
			if r.Contender == bench.HTTPIPCProxy {
				through = "proxy process"
			}
			fmt.Fprintf(w, "\n%s via %s: %.1f MB/s each way, the %s's peak RSS grew by %.1f MiB\n",
				r.Scenario, r.Contender, r.BytesPerS/2/1e6, through, float64(r.PeakRSSDeltaBytes)/(1<<20))
		}
	}
	if len(cold) > 0 {
		fmt.Fprintf(w, "\n%s: from no provider running to its first response\n", bench.ColdStart)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "contender\tstarts\tmedian ms\tfastest-slowest ms\tx exec\t")
		for _, r := range cold {
			med := bench.Spread{Median: r.NsPerOp / 1e6, Min: r.NsPerOpMin / 1e6, Max: r.NsPerOpMax / 1e6}
			var lo, hi float64
			if len(r.StartsNs) > 0 {
				lo, hi = slices.Min(r.StartsNs), slices.Max(r.StartsNs)
			}
			ratio := ""
			if s, ok := r.Ratios[bench.ColdExec]; ok {
				ratio = spreadCell(s, r.Runs, "%.2f")
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%.1f-%.1f\t%s\t\n", r.Contender, r.Ops, spreadCell(med, r.Runs, "%.1f"), lo/1e6, hi/1e6, ratio)
		}
		tw.Flush()
	}
	fmt.Fprintln(w, "\nRatios are times per operation relative to the contender named; lower is faster.")
	if runs > 1 {
		fmt.Fprintf(w, "Figures are medians over %d runs, with their range in parentheses; a cold-start\n"+
			"median is the median of the runs' medians, and fastest-slowest spans every start.\n", runs)
	}
}
