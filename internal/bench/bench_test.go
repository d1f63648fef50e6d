package bench

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	MaybeServe()
	os.Exit(m.Run())
}

// TestRun checks that every cell runs and the big echo reports memory; it
// asserts nothing about speed.
func TestRun(t *testing.T) {
	results, err := Run(context.Background(), Options{Duration: 10 * time.Millisecond, Echo1GiBSize: 8 << 20, StreamSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	want := 24 // 23 cells and the echo
	if _, err := exec.LookPath("dbus-daemon"); err == nil {
		want += 5 + 2 // the D-Bus contenders and godbus
	}
	if len(results) != want {
		t.Fatalf("%d results, want %d", len(results), want)
	}
	last := results[len(results)-1]
	if last.Scenario != Echo1GiB || last.BytesPerS <= 0 {
		t.Fatalf("echo result %+v", last)
	}
}
