package main

import (
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/httpipc/httpipc/internal/bench"
)

func TestParseBenchFlags(t *testing.T) {
	def := bench.Options{Duration: 700 * time.Millisecond, StreamSize: 16 << 20, Runs: 1, ColdStarts: 10}
	with := func(f func(*bench.Options)) bench.Options {
		o := def
		f(&o)
		return o
	}
	tests := []struct {
		name    string
		args    []string
		want    bench.Options
		json    bool
		wantErr string // a usage error containing this
	}{
		{"defaults", nil, def, false, ""},
		{"json", []string{"--json"}, def, true, ""},
		{"one scenario", []string{"--only", "cold-start"}, with(func(o *bench.Options) { o.Only = []string{bench.ColdStart} }), false, ""},
		{"comma list", []string{"--only", "rtt-64B, stream-16MiB"},
			with(func(o *bench.Options) { o.Only = []string{bench.RTT64B, bench.Stream16MiB} }), false, ""},
		{"repeated, duplicates dropped", []string{"--only", "rtt-64B", "--only", "cold-start,rtt-64B"},
			with(func(o *bench.Options) { o.Only = []string{bench.RTT64B, bench.ColdStart} }), false, ""},
		{"unknown scenario", []string{"--only", "rtt-64B,rtt-1B"}, bench.Options{}, false,
			`unknown scenario "rtt-1B"; the scenarios are rtt-64B, rtt-64KiB, stream-16MiB, concurrent-64x64B, stream-1GiB-echo, cold-start`},
		{"runs", []string{"--runs", "3"}, with(func(o *bench.Options) { o.Runs = 3 }), false, ""},
		{"zero runs", []string{"--runs", "0"}, bench.Options{}, false, "--runs must be at least 1"},
		{"runs not a number", []string{"--runs", "three"}, bench.Options{}, false, "invalid value"},
		{"cold starts", []string{"--cold-starts", "4"}, with(func(o *bench.Options) { o.ColdStarts = 4 }), false, ""},
		{"no cold starts", []string{"--cold-starts", "0"}, bench.Options{}, false, "--cold-starts must be at least 1"},
		{"skip 1 GiB", []string{"--skip-1gib"}, with(func(o *bench.Options) { o.Echo1GiBSize = -1 }), false, ""},
		{"skip and only 1 GiB", []string{"--skip-1gib", "--only", "stream-1GiB-echo"}, bench.Options{}, false, "contradict"},
		{"pin", []string{"--pin"}, with(func(o *bench.Options) { o.Pin = true }), false, ""},
		{"split", []string{"--split"}, with(func(o *bench.Options) { o.Split = true }), false, ""},
		{"pin and split", []string{"--pin", "--split"}, bench.Options{}, false, "--pin and --split contradict"},
		{"duration", []string{"--duration", "2s"}, with(func(o *bench.Options) { o.Duration = 2 * time.Second }), false, ""},
		{"zero duration", []string{"--duration", "0s"}, bench.Options{}, false, "--duration must be positive"},
		{"stream bytes", []string{"--stream-bytes", "0"}, bench.Options{}, false, "--stream-bytes must be positive"},
		{"jvm", []string{"--jvm", "x.jar"}, with(func(o *bench.Options) { o.JVM = []string{"java", "-jar", "x.jar", "bench-client"} }), false, ""},
		{"argument", []string{"cold-start"}, bench.Options{}, false, `unexpected argument "cold-start"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseBenchFlags(tt.args, io.Discard)
			if tt.wantErr != "" {
				var ue *usageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want a usage error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.opt, tt.want) || cfg.asJSON != tt.json {
				t.Fatalf("got %+v json=%v, want %+v json=%v", cfg.opt, cfg.asJSON, tt.want, tt.json)
			}
		})
	}
}

// The help lists every scenario, the baselines and the flags that pick,
// repeat and place them.
func TestBenchHelp(t *testing.T) {
	code, out, errOut := runCLI("bench", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range append(slices.Concat(bench.Scenarios(), bench.Baselines), "--only", "--runs", "--cold-starts", "--pin", "--split",
		bench.ColdLauncher, bench.ColdSystemd, bench.ColdDBus) {
		if !strings.Contains(out+errOut, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	code, _, errOut = runCLI("bench", "--only", "warp")
	if code != 2 || !strings.Contains(errOut, "cold-start") {
		t.Fatalf("unknown scenario: exit %d, %q", code, errOut)
	}
}

// The smallest cold-start run: one timed start of each contender.
func TestBenchColdStart(t *testing.T) {
	code, out, errOut := runCLI("bench", "--only", "cold-start", "--runs", "1", "--cold-starts", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"cold-start:", bench.ColdExec, bench.ColdLauncher, "x exec"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "raw-unix") {
		t.Errorf("--only cold-start ran other scenarios:\n%s", out)
	}
}

// With --runs, the table shows ranges and the JSON the fields that carry
// them, beside the old ones.
func TestBenchRunsJSON(t *testing.T) {
	code, out, errOut := runCLI("bench", "--json", "--only", "rtt-64B", "--runs", "2", "--duration", "10ms")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var results []map[string]any
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		for _, k := range []string{"scenario", "contender", "ops", "ns_per_op", "bytes_per_s", "runs", "ns_per_op_min", "ns_per_op_max", "ratios"} {
			if _, ok := r[k]; !ok {
				t.Errorf("%v/%v lacks %q", r["scenario"], r["contender"], k)
			}
		}
		if r["runs"] != 2.0 {
			t.Errorf("%v/%v: runs %v", r["scenario"], r["contender"], r["runs"])
		}
	}
}

func TestPrintTableRanges(t *testing.T) {
	results := bench.Summarize([][]bench.Result{
		{{Scenario: bench.RTT64B, Contender: bench.RawUnix, Ops: 1, NsPerOp: 100}, {Scenario: bench.RTT64B, Contender: bench.HTTPIPCUnix, Ops: 1, NsPerOp: 200},
			{Scenario: bench.ColdStart, Contender: bench.ColdExec, Ops: 1, NsPerOp: 1e6, StartsNs: []float64{1e6}}},
		{{Scenario: bench.RTT64B, Contender: bench.RawUnix, Ops: 1, NsPerOp: 100}, {Scenario: bench.RTT64B, Contender: bench.HTTPIPCUnix, Ops: 1, NsPerOp: 300},
			{Scenario: bench.ColdStart, Contender: bench.ColdExec, Ops: 1, NsPerOp: 3e6, StartsNs: []float64{3e6}}},
	})
	var b strings.Builder
	printTable(&b, results, 2)
	for _, want := range []string{"250 (200-300)", "2.50 (2.00-3.00)", "x httpipc-unix", "2.0 (1.0-3.0)", "1.0-3.0", "medians over 2 runs"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "x godbus") {
		t.Errorf("a godbus column without godbus cells:\n%s", b.String())
	}
}
