//go:build linux

package dbusipc

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// A link puts messages back in order and fails, naming the fault, on a
// duplicate, a message too far ahead, too many bytes held or one too big.
// Each message's bytes name its sequence number, so that Recv's order is
// checked, not only its count.
func TestLinkDeliver(t *testing.T) {
	conn := connect(t, startBus(t))
	type msg struct {
		seq uint64 // recv: read one message here instead
		n   int
	}
	const recv = ^uint64(0)
	for _, tc := range []struct {
		name string
		in   []msg
		read int    // messages Recv returns, in order, before the error
		err  string // "" means no error
	}{
		{"in order", []msg{{0, 1}, {1, 1}, {2, 1}}, 3, ""},
		{"reordered", []msg{{2, 1}, {0, 1}, {1, 1}}, 3, ""},
		{"reordered, longer", []msg{{3, 5}, {1, 2}, {4, 1}, {0, 3}, {2, 4}}, 5, ""},
		{"duplicate held", []msg{{1, 1}, {1, 1}}, 0, "arrived twice"},
		{"duplicate unread", []msg{{0, 1}, {0, 1}}, 0, "arrived twice"},
		{"duplicate read", []msg{{0, 1}, {recv, 0}, {0, 1}}, 0, "arrived twice"},
		{"too far ahead", []msg{{maxAhead, 1}}, 0, "ahead of the next expected"},
		{"too many bytes", []msg{{1, 1 << 20}, {2, 1 << 20}, {3, 1 << 20}, {4, 1 << 20}}, 0, "bytes ahead of the reader"},
		{"too big", []msg{{0, 2 << 20}}, 0, "over the"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newBusLink(conn, ":1.999999", "/org/httpipc/Link/test", true, 1<<20+64)
			defer l.Close()
			for _, m := range tc.in {
				if m.seq == recv {
					if _, err := l.Recv(); err != nil {
						t.Fatal(err)
					}
					continue
				}
				l.deliver(m.seq, payload(m.seq, m.n))
			}
			if tc.err == "" {
				l.gone(errors.New("done"))
			}
			for i := 0; i < tc.read; i++ {
				got, err := l.Recv()
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				var want []byte
				for _, m := range tc.in {
					if m.seq == uint64(i) {
						want = payload(m.seq, m.n)
					}
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("message %d is %q, want %q", i, got, want)
				}
			}
			_, err := l.Recv()
			want := tc.err
			if want == "" {
				want = "done"
			}
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("got %v, want an error with %q", err, want)
			}
		})
	}
}

// payload is message seq's bytes: n of them, starting with its number.
func payload(seq uint64, n int) []byte {
	b := bytes.Repeat([]byte{'.'}, n)
	copy(b, fmt.Sprint(seq))
	return b
}
