package bench

import (
	"context"
	"os"
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
	results, err := Run(context.Background(), Options{Duration: 10 * time.Millisecond, Echo1GiBSize: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 20 {
		t.Fatalf("%d results, want 19 cells and the echo", len(results))
	}
	last := results[len(results)-1]
	if last.Scenario != Echo1GiB || last.BytesPerS <= 0 {
		t.Fatalf("echo result %+v", last)
	}
}
