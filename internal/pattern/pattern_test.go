package pattern

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestPattern(t *testing.T) {
	p := New()
	for _, n := range []int64{0, 1, 64 << 10, 64<<10 + 1, 1 << 20} {
		got, err := p.Check(p.Reader(n))
		if got != n || err != nil {
			t.Errorf("%d bytes: checked %d, %v", n, got, err)
		}
	}
	b, _ := io.ReadAll(p.Reader(200 << 10))
	b[150<<10] ^= 1
	if _, err := p.Check(bytes.NewReader(b)); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Errorf("a changed byte: %v", err)
	}
	if _, err := New().Check(bytes.NewReader(b[:10])); err == nil {
		t.Error("another pattern's bytes passed")
	}
}
