package httpipc

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// These benchmarks run client and provider in one process, against net/http
// over the same kind of socket as the baseline. `httpipc bench` measures
// across processes, with a raw socket ping-pong as the floor.

func benchHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b)
	})
	mux.HandleFunc("GET /download", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		buf := make([]byte, 32<<10)
		for n > 0 {
			k := min(n, len(buf))
			w.Write(buf[:k])
			n -= k
		}
	})
	return mux
}

func benchClients(b *testing.B) map[string]*http.Client {
	dir := b.TempDir()
	srv := &Server{Handler: benchHandler(), Logger: quietLogger()}
	ln, err := Listen("unix:" + filepath.Join(dir, "ipc.sock"))
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	hln, err := net.Listen("unix", filepath.Join(dir, "http.sock"))
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: benchHandler()}
	go hs.Serve(hln)
	b.Cleanup(func() { hs.Close() })
	return map[string]*http.Client{
		"httpipc": {Transport: &Transport{Service: "unix:" + filepath.Join(dir, "ipc.sock"), MaxIdleConns: 64}},
		"nethttp": {Transport: &http.Transport{MaxIdleConnsPerHost: 64, DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", filepath.Join(dir, "http.sock"))
		}}},
	}
}

func benchEcho(b *testing.B, size int, parallel bool) {
	payload := strings.Repeat("x", size)
	for _, name := range []string{"nethttp", "httpipc"} {
		b.Run(name, func(b *testing.B) {
			c := benchClients(b)[name]
			op := func() {
				resp, err := c.Post("http://bench/echo", "application/octet-stream", strings.NewReader(payload))
				if err != nil {
					b.Fatal(err)
				}
				if n, _ := io.Copy(io.Discard, resp.Body); n != int64(size) {
					b.Fatalf("echoed %d bytes", n)
				}
				resp.Body.Close()
			}
			b.SetBytes(int64(2 * size))
			b.ReportAllocs()
			b.ResetTimer()
			if parallel {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						op()
					}
				})
				return
			}
			for i := 0; i < b.N; i++ {
				op()
			}
		})
	}
}

func BenchmarkRoundTrip64B(b *testing.B) { benchEcho(b, 64, false) }

// BenchmarkTransport64B is a 64-byte round trip through Transport.RoundTrip
// with one request reused, so that its allocations are httpipc's own,
// client and provider together, without those of http.Client building a
// request (about 14, whatever the transport). The handler echoes the body
// through a buffer of its own.
func BenchmarkTransport64B(b *testing.B) {
	dir := b.TempDir()
	buf := make([]byte, 64)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.ReadFull(r.Body, buf)
		w.Header()["Content-Length"] = r.Header["Content-Length"]
		w.Write(buf[:n])
	})
	srv := &Server{Handler: h, Logger: quietLogger()}
	ln, err := Listen("unix:" + filepath.Join(dir, "ipc.sock"))
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	tr := &Transport{Service: "unix:" + filepath.Join(dir, "ipc.sock")}
	payload := strings.Repeat("x", 64)
	body := strings.NewReader(payload)
	req, _ := http.NewRequest("POST", "http://bench/echo", io.NopCloser(body))
	req.ContentLength = int64(len(payload))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(payload)), nil }
	req.Header.Set("Content-Type", "application/octet-stream")
	rbuf := make([]byte, 128)
	b.SetBytes(128)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		body.Reset(payload)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		if n, _ := io.CopyBuffer(io.Discard, resp.Body, rbuf); n != int64(len(payload)) {
			b.Fatalf("echoed %d bytes", n)
		}
		resp.Body.Close()
	}
}
func BenchmarkRoundTrip64KiB(b *testing.B)       { benchEcho(b, 64<<10, false) }
func BenchmarkRoundTrip64BParallel(b *testing.B) { benchEcho(b, 64, true) }

func BenchmarkStream16MiB(b *testing.B) {
	const size = 16 << 20
	for _, name := range []string{"nethttp", "httpipc"} {
		b.Run(name, func(b *testing.B) {
			c := benchClients(b)[name]
			buf := make([]byte, 64<<10)
			b.SetBytes(size)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				resp, err := c.Get("http://bench/download?n=" + strconv.Itoa(size))
				if err != nil {
					b.Fatal(err)
				}
				if n, _ := io.CopyBuffer(io.Discard, resp.Body, buf); n != size {
					b.Fatalf("got %d bytes", n)
				}
				resp.Body.Close()
			}
		})
	}
}
