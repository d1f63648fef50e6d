//go:build unix

package httpipc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// These tests cut real connections between a Transport and a Server at
// chosen points, and check which requests the Transport sends again
// (docs/PROTOCOL.md, section 7, Retries).

// cutListener keeps the connections a Server accepts, so that a test can
// cut one at a chosen point.
type cutListener struct {
	net.Listener
	mu    sync.Mutex
	conns []*cutConn
}

func (l *cutListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &cutConn{Conn: c}
	l.mu.Lock()
	l.conns = append(l.conns, cc)
	l.mu.Unlock()
	return cc, nil
}

// accepted returns the connections accepted so far.
func (l *cutListener) accepted() []*cutConn {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*cutConn(nil), l.conns...)
}

// cutConn is the server end of a connection.
type cutConn struct {
	net.Conn
	// cutOnRead, when set, makes the next read that brings bytes (the
	// next request) cut the connection and drop them, so the request
	// never reaches a handler.
	cutOnRead atomic.Bool
	cuts      atomic.Int32
}

func (c *cutConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && c.cutOnRead.Load() {
		c.cut()
		return 0, net.ErrClosed
	}
	return n, err
}

// cut shuts the connection down in both directions at once, then closes
// it. Unlike Close alone, the shutdown takes effect before cut returns even
// while another goroutine is inside a read: from then on the client reads
// an end of file, and its writes fail with EPIPE having written nothing.
func (c *cutConn) cut() {
	c.cuts.Add(1)
	if hc, ok := c.Conn.(interface {
		CloseRead() error
		CloseWrite() error
	}); ok {
		hc.CloseRead()
		hc.CloseWrite()
	}
	c.Conn.Close()
}

// SyscallConn gives the Server the socket, for the peer's credentials.
func (c *cutConn) SyscallConn() (syscall.RawConn, error) {
	return c.Conn.(syscall.Conn).SyscallConn()
}

// retrySetup serves mux on a fresh Unix socket through a cutListener, and
// returns a client whose Transport logs its retries to the returned buffer.
func retrySetup(t *testing.T, mux *http.ServeMux) (*http.Client, *cutListener, func() string) {
	t.Helper()
	ln, err := Listen("unix:" + filepath.Join(t.TempDir(), "p.sock"))
	if err != nil {
		t.Fatal(err)
	}
	cl := &cutListener{Listener: ln}
	srv := &Server{Handler: mux, Logger: quietLogger()}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(cl) }()
	t.Cleanup(func() {
		srv.Close()
		select {
		case err := <-errc:
			if !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after Close")
		}
	})
	var mu sync.Mutex
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tr := &Transport{Service: "unix:" + ln.Addr().String(), Logger: logger}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	return c, cl, func() string {
		mu.Lock()
		defer mu.Unlock()
		return logs.String()
	}
}

// getBody does a request and reads its body.
func getBody(c *http.Client, req *http.Request) (string, error) {
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// warmUp makes one GET, which leaves one connection in the Transport's
// pool, and returns that connection's server end.
func warmUp(t *testing.T, c *http.Client, cl *cutListener) *cutConn {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://test/get", nil)
	if _, err := getBody(c, req); err != nil {
		t.Fatal(err)
	}
	conns := cl.accepted()
	if len(conns) != 1 {
		t.Fatalf("%d connections after the first request, want 1", len(conns))
	}
	return conns[0]
}

func retries(logs string) int { return strings.Count(logs, "retrying on a new connection") }

// A POST whose connection dies after the provider received it whole and
// its handler ran, before any byte of the response, is not sent again: the
// provider may have acted on it. The caller gets ErrNoResponse.
func TestRetryNotAfterPOSTSent(t *testing.T) {
	var cl *cutListener
	var gets, posts atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) { gets.Add(1) })
	mux.HandleFunc("POST /order", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil || string(b) != "one book" {
			t.Errorf("handler got %q, %v", b, err)
		}
		posts.Add(1)
		// The provider dies here, having acted on the request.
		conns := cl.accepted()
		conns[len(conns)-1].cut()
	})
	c, l, logs := retrySetup(t, mux)
	cl = l
	warmUp(t, c, cl)

	req, _ := http.NewRequest("POST", "http://test/order", strings.NewReader("one book"))
	_, err := getBody(c, req)
	if !errors.Is(err, ErrNoResponse) {
		t.Fatalf("POST: got %v, want an error wrapping ErrNoResponse", err)
	}
	if n := posts.Load(); n != 1 {
		t.Fatalf("the handler ran %d times for one POST, want 1", n)
	}
	if n := len(cl.accepted()); n != 1 {
		t.Fatalf("%d connections, want 1 (no second attempt)", n)
	}
	if n := retries(logs()); n != 0 {
		t.Fatalf("%d retries logged, want 0", n)
	}
}

// A GET on a pooled connection that the provider closes when the request
// arrives, before its handler runs and before any byte of the response, is
// sent again once on a new connection.
func TestRetryIdempotentOnReusedConn(t *testing.T) {
	var gets atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, gets.Add(1))
	})
	c, cl, logs := retrySetup(t, mux)
	first := warmUp(t, c, cl)

	first.cutOnRead.Store(true)
	req, _ := http.NewRequest("GET", "http://test/get", nil)
	body, err := getBody(c, req)
	if err != nil {
		t.Fatalf("GET on a connection closed under it: %v, want a retry", err)
	}
	if first.cuts.Load() != 1 {
		t.Fatal("the pooled connection was not used for the GET")
	}
	if body != "2" || gets.Load() != 2 {
		t.Fatalf("answered by handler run %q, %d runs; want the second run of two", body, gets.Load())
	}
	if n := len(cl.accepted()); n != 2 {
		t.Fatalf("%d connections, want 2 (the pooled one and one for the retry)", n)
	}
	if n := retries(logs()); n != 1 {
		t.Fatalf("%d retries logged, want 1", n)
	}
}

// A request of which no byte was written, because the provider had
// already closed the pooled connection, is sent again on a new connection
// even when it is a POST.
func TestRetryNeverSent(t *testing.T) {
	var gets, posts atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) { gets.Add(1) })
	mux.HandleFunc("POST /order", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		posts.Add(1)
		fmt.Fprintf(w, "ordered %s", b)
	})
	c, cl, logs := retrySetup(t, mux)
	first := warmUp(t, c, cl)

	// The provider closes the idle connection (as at its idle exit), and
	// the client takes it from the pool before it looks at it again: a
	// connection idle for less than peekAfter is used without a check, so
	// make it look just returned to the pool.
	first.cut()
	tr := c.Transport.(*Transport)
	tr.mu.Lock()
	if len(tr.idle) != 1 {
		tr.mu.Unlock()
		t.Fatalf("%d pooled connections, want 1", len(tr.idle))
	}
	tr.idle[0].idleSince = time.Now().Add(time.Hour)
	tr.mu.Unlock()

	req, _ := http.NewRequest("POST", "http://test/order", strings.NewReader("one book"))
	body, err := getBody(c, req)
	if err != nil {
		t.Fatalf("POST on a connection closed before it was sent: %v, want a retry", err)
	}
	if body != "ordered one book" || posts.Load() != 1 {
		t.Fatalf("got %q with %d handler runs, want the one run's answer", body, posts.Load())
	}
	if n := len(cl.accepted()); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
	if n := retries(logs()); n != 1 {
		t.Fatalf("%d retries logged, want 1", n)
	}
}
