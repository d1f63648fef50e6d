package proxy

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/httpipc/httpipc"
)

// BenchmarkRTT64B echoes 64 bytes through the proxy to an httpipc provider,
// next to the same handler reached directly over loopback TCP with
// net/http (all in this process; httpipc bench runs the provider apart).
func BenchmarkRTT64B(b *testing.B) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b)
	})
	payload := strings.Repeat("x", 64)
	run := func(b *testing.B, url string) {
		c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
		b.ReportAllocs()
		for b.Loop() {
			resp, err := c.Post(url, "text/plain", strings.NewReader(payload))
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if n != 64 {
				b.Fatalf("%d bytes", n)
			}
		}
	}
	b.Run("direct-tcp", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		srv := &http.Server{Handler: echo}
		go srv.Serve(ln)
		defer srv.Close()
		run(b, "http://"+ln.Addr().String()+"/echo")
	})
	b.Run("httpipc", func(b *testing.B) {
		c := &http.Client{Transport: &httpipc.Transport{Service: providerFor(b, echo)}}
		b.ReportAllocs()
		for b.Loop() {
			resp, err := c.Post("http://x/echo", "text/plain", strings.NewReader(payload))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.Run("proxy", func(b *testing.B) {
		addr := providerFor(b, echo)
		p := &Proxy{Service: addr, Logger: quiet()}
		ln, err := Listen("")
		if err != nil {
			b.Fatal(err)
		}
		go p.Serve(ln)
		defer p.Close()
		run(b, p.BaseURL(ln.Addr())+"/echo")
	})
}
