// Package pattern makes content of any length for streaming tests, and
// checks it on the other side without holding it: a block of random bytes,
// repeated. Memory tests send hundreds of MiB through a provider or a proxy
// and must not hold them themselves.
package pattern

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
)

// Pattern is a block of random bytes, repeated.
type Pattern struct{ block []byte }

// New returns a pattern of a new 64 KiB random block.
func New() Pattern {
	b := make([]byte, 64<<10)
	rand.Read(b)
	return Pattern{b}
}

// Reader returns the first n bytes of the pattern.
func (p Pattern) Reader(n int64) io.Reader { return &reader{p: p, left: n} }

type reader struct {
	p         Pattern
	off, left int64
}

func (r *reader) Read(b []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	n := copy(b[:min(int64(len(b)), r.left)], r.p.block[r.off%int64(len(r.p.block)):])
	r.off += int64(n)
	r.left -= int64(n)
	return n, nil
}

// Check reads r to its end and returns how many bytes it had, failing on
// the first that differs from the pattern's start.
func (p Pattern) Check(r io.Reader) (int64, error) {
	buf := make([]byte, 64<<10)
	var off int64
	k := int64(len(p.block))
	for {
		n, err := r.Read(buf)
		for got := buf[:n]; len(got) > 0; {
			want := p.block[off%k:]
			c := min(len(got), len(want))
			if !bytes.Equal(got[:c], want[:c]) {
				return off, fmt.Errorf("pattern: content differs within bytes %d to %d", off, off+int64(c))
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
