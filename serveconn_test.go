package httpipc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/httpipc/httpipc/peercred"
)

// unixPair returns the two ends of a fresh Unix socket connection: the
// client's, and the server's, which no Server accepted.
func unixPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "pair.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("unix", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if server, err = ln.Accept(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// serveConnClient returns a client whose every connection is served by
// srv.ServeConn, its server end wrapped by wrap; ServeConn's results arrive
// on the returned channel.
func serveConnClient(t *testing.T, srv *Server, wrap func(net.Conn) net.Conn) (*http.Client, <-chan error) {
	served := make(chan error, 8)
	dial := func(ctx context.Context) (net.Conn, error) {
		c, s := unixPair(t)
		go func() { served <- srv.ServeConn(context.Background(), wrap(s)) }()
		return c, nil
	}
	return &http.Client{Transport: &Transport{DialContext: dial, MaxIdleConns: -1}}, served
}

func waitServed(t *testing.T, served <-chan error, want error) {
	t.Helper()
	select {
	case err := <-served:
		if !errors.Is(err, want) {
			t.Fatalf("ServeConn returned %v, want %v", err, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeConn did not return")
	}
}

func TestServeConn(t *testing.T) {
	var ran atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ran.Add(1)
		p := Peer(r)
		fmt.Fprintf(w, "uid=%d pid=%d", p.UID, p.PID)
	})
	t.Run("served with the peer given", func(t *testing.T) {
		srv := &Server{Handler: h, Logger: quietLogger()}
		defer srv.Close()
		peer := &peercred.Creds{UID: os.Getuid(), GID: -1, PID: 4242}
		c, served := serveConnClient(t, srv, func(c net.Conn) net.Conn { return ConnWithPeer(c, peer) })
		resp, err := c.Get("http://lms/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("uid=%d pid=4242", os.Getuid()); string(b) != want {
			t.Fatalf("got %q, want %q", b, want)
		}
		waitServed(t, served, nil)
	})
	t.Run("policy refuses the peer given", func(t *testing.T) {
		ran.Store(0)
		srv := &Server{Handler: h, Logger: quietLogger()}
		defer srv.Close()
		peer := &peercred.Creds{UID: os.Getuid() + 12345, GID: -1, PID: 4242}
		c, served := serveConnClient(t, srv, func(c net.Conn) net.Conn { return ConnWithPeer(c, peer) })
		if _, err := c.Get("http://lms/"); !errors.Is(err, ErrRefused) {
			t.Fatalf("got %v, want ErrRefused", err)
		}
		waitServed(t, served, nil)
		if ran.Load() != 0 {
			t.Fatal("handler ran for a refused peer")
		}
	})
	t.Run("kernel credentials and HTTP/1.1", func(t *testing.T) {
		srv := &Server{Handler: h, Logger: quietLogger()}
		defer srv.Close()
		served := make(chan error, 1)
		c := &http.Client{Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(context.Context, string, string) (net.Conn, error) {
				c, s := unixPair(t)
				go func() { served <- srv.ServeConn(context.Background(), s) }()
				return c, nil
			},
		}}
		resp, err := c.Get("http://lms/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("uid=%d pid=%d", os.Getuid(), os.Getpid()); string(b) != want {
			t.Fatalf("got %q, want %q", b, want)
		}
		// ServeConn returns once the HTTP/1.1 server is done with it.
		waitServed(t, served, nil)
	})
	t.Run("connection cap", func(t *testing.T) {
		srv := &Server{Handler: h, Logger: quietLogger(), MaxConns: 1}
		defer srv.Close()
		_, first := unixPair(t)
		go srv.ServeConn(context.Background(), first)
		waitTracked(t, srv, 1)
		c, served := serveConnClient(t, srv, func(c net.Conn) net.Conn { return c })
		_, err := c.Get("http://lms/")
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "too many connections") {
			t.Fatalf("got %v, want ErrRefused: too many connections", err)
		}
		waitServed(t, served, nil)
	})
	t.Run("context ends the connection", func(t *testing.T) {
		srv := &Server{Handler: h, Logger: quietLogger()}
		defer srv.Close()
		ctx, cancel := context.WithCancel(context.Background())
		_, s := unixPair(t)
		served := make(chan error, 1)
		go func() { served <- srv.ServeConn(ctx, s) }()
		waitTracked(t, srv, 1)
		cancel()
		waitServed(t, served, nil)
		waitTracked(t, srv, 0)
	})
	t.Run("after Close", func(t *testing.T) {
		srv := &Server{Handler: h, Logger: quietLogger()}
		srv.Close()
		_, s := unixPair(t)
		if err := srv.ServeConn(context.Background(), s); !errors.Is(err, http.ErrServerClosed) {
			t.Fatalf("got %v, want http.ErrServerClosed", err)
		}
	})
	t.Run("open socket", func(t *testing.T) {
		srv := &Server{Handler: h, Logger: quietLogger(), Policy: AllowAny()}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Skip(err)
		}
		defer ln.Close()
		go func() {
			if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
				defer c.Close()
				io.Copy(io.Discard, c)
			}
		}()
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.ServeConn(context.Background(), s); !errors.Is(err, ErrOpenSocket) {
			t.Fatalf("got %v, want ErrOpenSocket", err)
		}
	})
}

// waitTracked waits until srv tracks n connections.
func waitTracked(t *testing.T, srv *Server, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		srv.mu.Lock()
		got := len(srv.conns)
		srv.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections tracked, want %d", got, n)
		}
	}
}

// TestServeConnIdle: a request in flight on a connection from ServeConn
// holds off the idle exit of Serve on the same server, and the exit closes
// that connection once it is idle.
func TestServeConnIdle(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "done")
	})
	srv := &Server{Handler: h, IdleTimeout: 50 * time.Millisecond, Logger: quietLogger()}
	ln, err := Listen("unix:" + filepath.Join(t.TempDir(), "p.sock"))
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	c, s := unixPair(t)
	served := make(chan error, 1)
	go func() { served <- srv.ServeConn(context.Background(), s) }()
	tr := &Transport{DialContext: func(context.Context) (net.Conn, error) { return c, nil }}
	res := make(chan error, 1)
	go func() {
		resp, err := (&http.Client{Transport: tr}).Get("http://lms/")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		res <- err
	}()
	<-entered
	select {
	case err := <-errc:
		t.Fatalf("Serve returned %v with a request in flight on a ServeConn connection", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	// The connection is idle in the client's pool: the idle exit closes
	// it, and ServeConn returns.
	if err := <-errc; !errors.Is(err, ErrIdle) {
		t.Fatalf("Serve returned %v, want ErrIdle", err)
	}
	waitServed(t, served, nil)
}
