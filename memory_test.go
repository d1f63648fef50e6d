//go:build linux

package httpipc

import (
	"net/http"
	"testing"
	"time"

	"github.com/httpipc/httpipc/internal/pattern"
	"github.com/httpipc/httpipc/internal/procstat"
)

// Memory is steady enough to assert; time is not, so these tests measure
// the one and only log the other.

const (
	// memoryStreamBytes is what goes each way through the provider.
	memoryStreamBytes = 256 << 20
	// maxPeakGrowth bounds the growth of the provider's peak RSS over the
	// stream: a few buffers and the garbage collector's slack, nowhere
	// near the stream.
	maxPeakGrowth = 16 << 20
)

// echo sends n bytes of p to the provider's POST /echo, which streams them
// back, and checks what returns.
func echo(t *testing.T, c *http.Client, p pattern.Pattern, n int64) {
	t.Helper()
	req, err := http.NewRequest("POST", "http://test/echo", p.Reader(n))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = n
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := p.Check(resp.Body)
	if err != nil || got != n {
		t.Fatalf("echoed %d of %d bytes: %v", got, n, err)
	}
}

// A stream of 256 MiB up to a provider process and back, both ways at
// once, grows the provider's peak RSS by less than 16 MiB.
func TestStreamMemoryBounded(t *testing.T) {
	tr, sock := testService(t, 0)
	c := &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	p := pattern.New()
	// The first request starts the provider; the baseline includes a
	// request served.
	echo(t, c, p, 64<<10)
	starts := providerStarts(t, sock)
	if len(starts) != 1 {
		t.Fatalf("providers started: %v, want one", starts)
	}
	pid := starts[0]
	before := peakRSS(t, pid)
	start := time.Now()
	echo(t, c, p, memoryStreamBytes)
	took := time.Since(start)
	after := peakRSS(t, pid)
	t.Logf("provider peak RSS %.1f MiB before, %.1f MiB after %d MiB each way (%v)",
		float64(before)/(1<<20), float64(after)/(1<<20), memoryStreamBytes>>20, took.Round(time.Millisecond))
	if growth := after - before; growth > maxPeakGrowth {
		t.Fatalf("the provider's peak RSS grew by %.1f MiB while streaming %d MiB, want less than %d MiB",
			float64(growth)/(1<<20), memoryStreamBytes>>20, maxPeakGrowth>>20)
	}
}

// peakRSS returns the peak resident set size of process pid, in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	n, err := procstat.PeakRSS(pid)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
