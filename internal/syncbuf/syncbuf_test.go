package syncbuf

import (
	"strings"
	"sync"
	"testing"
)

func TestConcurrentWriters(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				b.Write([]byte("ab"))
				b.WriteString("c")
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if s := b.String(); len(s) != 8*100*3 || strings.Count(s, "c") != 800 {
		t.Fatalf("%d bytes", len(s))
	}
}
