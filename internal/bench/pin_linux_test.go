package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestPin runs a pinned measurement in a process of its own (pinning is for
// good): the run succeeds, says which CPU it took, and leaves every thread
// of the process, and so the provider it started, on that one CPU.
func TestPin(t *testing.T) {
	if os.Getenv("HTTPIPC_BENCH_PIN_CHILD") != "" {
		var notes bytes.Buffer
		results, err := Run(context.Background(), Options{Only: []string{RTT64B}, Duration: 10 * time.Millisecond, Pin: true, Notes: &notes})
		if err != nil {
			t.Fatal(err)
		}
		if len(results) == 0 || !strings.Contains(notes.String(), "bound to CPU") {
			t.Fatalf("%d results, notes %q", len(results), notes.String())
		}
		ents, err := os.ReadDir("/proc/self/task")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			var set unix.CPUSet
			var tid int
			if _, err := fmt.Sscan(e.Name(), &tid); err != nil {
				continue
			}
			if err := unix.SchedGetaffinity(tid, &set); err == nil && set.Count() != 1 {
				t.Errorf("thread %d may run on %d CPUs", tid, set.Count())
			}
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPin$", "-test.v")
	cmd.Env = append(os.Environ(), "HTTPIPC_BENCH_PIN_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestPin")) {
		t.Fatalf("pinned run: %v\n%s", err, out)
	}
}
