package message_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/message"
	"github.com/httpipc/httpipc/peercred"
)

// download serves GET /?n=N with N bytes.
func download() http.Handler {
	buf := make([]byte, 32<<10)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		for n > 0 {
			k := min(n, len(buf))
			w.Write(buf[:k])
			n -= k
		}
	})
}

// BenchmarkStream16MiB downloads 16 MiB through an in-process httpipc server,
// over a Unix socket and over streams over an in-process link of 16 KiB
// messages; the ratio of the two is the cost of streams over messages.
func BenchmarkStream16MiB(b *testing.B) {
	const size = 16 << 20
	run := func(b *testing.B, dial func(context.Context) (net.Conn, error)) {
		c := &http.Client{Transport: &httpipc.Transport{DialContext: dial}}
		buf := make([]byte, 64<<10)
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			resp, err := c.Get("http://bench/?n=" + strconv.Itoa(size))
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.CopyBuffer(io.Discard, resp.Body, buf)
			resp.Body.Close()
			if err != nil || n != size {
				b.Fatalf("%d bytes, %v", n, err)
			}
		}
	}
	b.Run("unix", func(b *testing.B) {
		path := b.TempDir() + "/s"
		ln, err := net.Listen("unix", path)
		if err != nil {
			b.Fatal(err)
		}
		srv := &httpipc.Server{Handler: download()}
		go srv.Serve(ln)
		defer srv.Close()
		run(b, func(ctx context.Context) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		})
	})
	b.Run("messages", func(b *testing.B) {
		la, lb := message.LinkPair(message.DefaultChunkSize + 64)
		server := message.ServerMux(lb, message.MuxOptions{Peer: peercred.Self()})
		client := message.ClientMux(la, message.MuxOptions{Peer: peercred.Self()})
		defer client.Close()
		srv := &httpipc.Server{Handler: download()}
		go srv.Serve(server)
		defer srv.Close()
		run(b, client.Open)
	})
}
