package bench

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/httpipc/httpipc/internal/testprog"
)

func TestMain(m *testing.M) {
	MaybeServe()
	os.Exit(m.Run())
}

// TestRun checks that every cell runs and the big echo reports memory; it
// asserts nothing about speed.
func TestRun(t *testing.T) {
	results, err := Run(context.Background(), Options{Duration: 10 * time.Millisecond, Echo1GiBSize: 8 << 20, StreamSize: 1 << 20, ColdStarts: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := 26 // 24 cells and the echo through the provider and through the proxy
	if testprog.Has(t, "dbus-daemon", testprog.DBus) {
		want += 5 + 2 // the D-Bus contenders and godbus
	}
	want += coldContenders(t)
	if len(results) != want {
		t.Fatalf("%d results, want %d", len(results), want)
	}
	echoes := map[string]bool{}
	for _, r := range results {
		if r.Scenario == Echo1GiB {
			echoes[r.Contender] = r.BytesPerS > 0
		}
		if r.Runs != 1 || r.NsPerOp <= 0 || r.NsPerOpMin != r.NsPerOp || r.NsPerOpMax != r.NsPerOp {
			t.Errorf("%s/%s: %+v", r.Scenario, r.Contender, r)
		}
	}
	if !echoes[HTTPIPCUnix] || !echoes[HTTPIPCProxy] {
		t.Fatalf("echo results through the provider and the proxy: %v", echoes)
	}
}

// coldContenders is how many contenders cold-start has here.
func coldContenders(t *testing.T) int {
	if runtime.GOOS == "windows" {
		return 0
	}
	n := 2 // exec and servicedir-launch
	if testprog.Has(t, "systemd-socket-activate", testprog.Systemd) {
		n++
	}
	if testprog.Has(t, "dbus-daemon", testprog.DBus) {
		n++
	}
	return n
}

// TestColdStart runs cold-start alone, twice with one timed start each:
// every contender answers, each start with a provider of its own, and the
// ratios are to exec.
func TestColdStart(t *testing.T) {
	results, err := Run(context.Background(), Options{Only: []string{ColdStart}, Runs: 2, ColdStarts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != coldContenders(t) {
		t.Fatalf("%d results, want %d: %+v", len(results), coldContenders(t), results)
	}
	for _, r := range results {
		if r.Scenario != ColdStart || r.Runs != 2 || r.Ops != 2 || len(r.StartsNs) != 2 || r.NsPerOp <= 0 {
			t.Errorf("%+v", r)
		}
		if _, ok := r.Ratios[ColdExec]; !ok {
			t.Errorf("%s: no ratio to %s: %+v", r.Contender, ColdExec, r.Ratios)
		}
	}
}

func TestRunUnknownScenario(t *testing.T) {
	if _, err := Run(context.Background(), Options{Only: []string{"rtt-1B"}}); err == nil {
		t.Fatal("an unknown scenario ran")
	}
}
