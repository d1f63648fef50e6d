package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"text/tabwriter"
	"time"

	"github.com/httpipc/httpipc/internal/bench"
)

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", "[--json] [--duration D] [--skip-1gib]",
		"Measures, in one run on this machine, the client here against a provider in a separate\n"+
			"process: a raw Unix-socket ping-pong (the physical limit), net/http over a Unix socket and\n"+
			"over loopback TCP, httpipc over a Unix socket, and net/http through the localhost proxy\n"+
			"(httpipc proxy) to httpipc; then message mode (in process, over\n"+
			"SOCK_SEQPACKET, over D-Bus) and the stream protocol over 16 KiB messages (in process,\n"+
			"over D-Bus) and over a socket handed over D-Bus. The D-Bus rows need dbus-daemon, which\n"+
			"the run starts privately. Prints each cell and its ratio to raw-unix and to nethttp-unix,\n"+
			"then the provider's peak RSS growth while 1 GiB streams through it.", stderr)
	asJSON := fs.Bool("json", false, "print a JSON array of results instead of a table")
	dur := fs.Duration("duration", 700*time.Millisecond, "how long each cell runs")
	skipBig := fs.Bool("skip-1gib", false, "skip the 1 GiB streaming scenario")
	streamBytes := fs.Int("stream-bytes", 16<<20, "size of the download in the stream-16MiB scenario")
	jar := fs.String("jvm", "", "add the Kotlin client (kotlin-okhttp) from this httpipc-jvm.jar, run with java from PATH")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *streamBytes <= 0 {
		return usagef("--stream-bytes must be positive, not %d", *streamBytes)
	}
	opt := bench.Options{Duration: *dur, StreamSize: *streamBytes}
	if *jar != "" {
		opt.JVM = []string{"java", "-jar", *jar, "bench-client"}
	}
	if *skipBig {
		opt.Echo1GiBSize = -1
	}
	results, err := bench.Run(ctx, opt)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	printTable(stdout, results)
	return nil
}

func printTable(w io.Writer, results []bench.Result) {
	byCell := map[[2]string]bench.Result{}
	for _, r := range results {
		byCell[[2]string{r.Scenario, r.Contender}] = r
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tcontender\tops\tns/op\tMB/s\tx raw-unix\tx nethttp-unix\tx nethttp-tcp\tx httpipc-unix\t")
	for _, r := range results {
		if r.Scenario == bench.Echo1GiB {
			continue
		}
		raw := byCell[[2]string{r.Scenario, bench.RawUnix}]
		nh := byCell[[2]string{r.Scenario, bench.NetHTTPUnix}]
		nt := byCell[[2]string{r.Scenario, bench.NetHTTPTCP}]
		hu := byCell[[2]string{r.Scenario, bench.HTTPIPCUnix}]
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t\n", r.Scenario, r.Contender, r.Ops, r.NsPerOp,
			r.BytesPerS/1e6, r.NsPerOp/raw.NsPerOp, r.NsPerOp/nh.NsPerOp, r.NsPerOp/nt.NsPerOp, r.NsPerOp/hu.NsPerOp)
	}
	tw.Flush()
	for _, r := range results {
		if r.Scenario == bench.Echo1GiB {
			fmt.Fprintf(w, "\n%s via %s: %.1f MB/s each way, provider peak RSS grew by %.1f MiB\n",
				r.Scenario, r.Contender, r.BytesPerS/2/1e6, float64(r.PeakRSSDeltaBytes)/(1<<20))
		}
	}
	fmt.Fprintln(w, "\nRatios are times per operation relative to the contender named; lower is faster.")
}
