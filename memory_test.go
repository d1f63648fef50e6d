//go:build linux

package httpipc

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
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

// peakRSS returns the peak resident set size (VmHWM) of process pid, in
// bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" && f[2] == "kB" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// pattern is content of any length: a block of random bytes, repeated.
type pattern struct{ block []byte }

func newPattern() pattern {
	b := make([]byte, 64<<10)
	rand.Read(b)
	return pattern{b}
}

// reader returns n bytes of the pattern, from its start.
func (p pattern) reader(n int64) io.Reader { return &patternReader{p: p, left: n} }

type patternReader struct {
	p         pattern
	off, left int64
}

func (r *patternReader) Read(b []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	k := len(r.p.block)
	n := copy(b[:min(int64(len(b)), r.left)], r.p.block[r.off%int64(k):])
	r.off += int64(n)
	r.left -= int64(n)
	return n, nil
}

// check reads r to its end and reports how many bytes it had, failing on
// the first that differs from the pattern.
func (p pattern) check(r io.Reader) (int64, error) {
	buf := make([]byte, 64<<10)
	var off int64
	k := int64(len(p.block))
	for {
		n, err := r.Read(buf)
		for got := buf[:n]; len(got) > 0; {
			want := p.block[off%k:]
			c := min(len(got), len(want))
			if !bytes.Equal(got[:c], want[:c]) {
				return off, fmt.Errorf("content differs from the sent pattern within bytes %d to %d", off, off+int64(c))
			}
			got, off = got[c:], off+int64(c)
		}
		if err == io.EOF {
			return off, nil
		}
		if err != nil {
			return off, err
		}
	}
}

// echo sends n bytes of p to the provider's POST /echo, which streams them
// back, and checks what returns.
func echo(t *testing.T, c *http.Client, p pattern, n int64) {
	t.Helper()
	req, err := http.NewRequest("POST", "http://test/echo", p.reader(n))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = n
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := p.check(resp.Body)
	if err != nil || got != n {
		t.Fatalf("echoed %d of %d bytes: %v", got, n, err)
	}
}

// A stream of 256 MiB up to a provider process and back, both ways at
// once, grows the provider's peak RSS by less than 16 MiB.
func TestStreamMemoryBounded(t *testing.T) {
	tr, sock := testService(t, 0)
	c := &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	p := newPattern()
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
