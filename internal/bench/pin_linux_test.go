package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestPlacement runs a measurement with each placement in a process of its
// own (binding is for good): the run succeeds, says where it put the
// processes, and leaves every thread of this process on one CPU; with Split
// the provider's threads are on another.
func TestPlacement(t *testing.T) {
	if mode := os.Getenv("HTTPIPC_BENCH_PLACE_CHILD"); mode != "" {
		cpus, err := allowedCPUs()
		if err != nil {
			t.Fatal(err)
		}
		opt := Options{Only: []string{RTT64B}, Duration: 10 * time.Millisecond, Pin: mode == "pin", Split: mode == "split"}
		var notes bytes.Buffer
		opt.Notes = &notes
		if err := place(&opt); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(notes.String(), "bound to CPU") {
			t.Fatalf("notes %q", notes.String())
		}
		checkThreads(t, os.Getpid(), cpus[0])
		p, err := startProvider(context.Background(), opt)
		if err != nil {
			t.Fatal(err)
		}
		defer p.stop()
		want := cpus[0]
		if opt.Split {
			want = cpus[1]
		}
		checkThreads(t, p.a.PID, want)
		if _, err := runMain(context.Background(), opt, []string{RTT64B}, func(string, ...any) {}); err != nil {
			t.Fatal(err)
		}
		return
	}
	cpus, err := allowedCPUs()
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"pin", "split"} {
		t.Run(mode, func(t *testing.T) {
			if mode == "split" && len(cpus) < 2 {
				t.Skip("one CPU allowed")
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestPlacement$", "-test.v")
			cmd.Env = append(os.Environ(), "HTTPIPC_BENCH_PLACE_CHILD="+mode)
			out, err := cmd.CombinedOutput()
			if err != nil || !bytes.Contains(out, []byte("--- PASS: TestPlacement")) {
				t.Fatalf("%s run: %v\n%s", mode, err, out)
			}
		})
	}
}

// checkThreads fails t unless every thread of process pid may run on cpu
// alone.
func checkThreads(t *testing.T, pid, cpu int) {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(tid, &set); err == nil && (set.Count() != 1 || !set.IsSet(cpu)) {
			t.Errorf("thread %d of process %d may run on %d CPUs, or not on CPU %d", tid, pid, set.Count(), cpu)
		}
	}
}
