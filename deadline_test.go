package httpipc

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/httpipc/httpipc/peercred"
)

// deadlineCounter counts the read deadlines a server sets on its end of a
// connection.
type deadlineCounter struct {
	net.Conn
	n *atomic.Int64
}

func (c *deadlineCounter) SetReadDeadline(t time.Time) error {
	c.n.Add(1)
	return c.Conn.SetReadDeadline(t)
}

// TestDeadlinesNotPerRequest: requests whose head and body arrive whole
// cost no read-deadline change each; the idle deadline is moved once in a
// while, not once a request. A request whose body streams clears the
// deadline for its handler and sets the idle one again after it.
func TestDeadlinesNotPerRequest(t *testing.T) {
	const requests = 200
	for _, tc := range []struct {
		name    string
		body    int // bytes per request
		maxSets int64
	}{
		{"small requests", 64, 4},
		{"inline bodies", 4 << 10, 4},
		{"streamed bodies", inlineBodyMax + 1, 6 * requests},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n, _ := io.Copy(io.Discard, r.Body)
				io.WriteString(w, strconv.FormatInt(n, 10))
			})
			srv := &Server{Handler: h, Logger: quietLogger()}
			t.Cleanup(func() { srv.Close() })
			// Each connection the client dials is served, through the
			// counter, by ServeConn.
			var sets atomic.Int64
			dial := func(context.Context) (net.Conn, error) {
				c, s := unixPair(t)
				peer, err := peercred.Get(s)
				if err != nil {
					return nil, err
				}
				go srv.ServeConn(context.Background(), ConnWithPeer(&deadlineCounter{Conn: s, n: &sets}, peer))
				return c, nil
			}
			client := &http.Client{Transport: &Transport{DialContext: dial}}
			body := strings.Repeat("x", tc.body)
			for i := 0; i < requests; i++ {
				resp, err := client.Post("http://lms/", "text/plain", strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(b) != strconv.Itoa(tc.body) {
					t.Fatalf("request %d: %q %v", i, b, err)
				}
			}
			if n := sets.Load(); n > tc.maxSets {
				t.Errorf("%d read deadlines set for %d requests, want at most %d", n, requests, tc.maxSets)
			}
		})
	}
}
