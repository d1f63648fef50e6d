package httpipc

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/httpipc/httpipc/bhttp"
)

// FuzzServerConn feeds arbitrary bytes to a provider connection: it must
// answer or close, never panic or hang.
func FuzzServerConn(f *testing.F) {
	f.Add(append(clientPreface(1, 1), getReq("/hello")...))
	f.Add(append(clientPreface(1, 1), 2, 4, 'P', 'O', 'S', 'T', 4, 'h', 't', 't', 'p', 0, 5, '/', 'e', 'c', 'h', 'o', 0, 3, 'a', 'b', 'c', 0, 0))
	f.Add(clientPreface(3, 1))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Fuzz(func(t *testing.T, input []byte) {
		srv := &Server{Handler: vectorHandler(), Policy: AllowAny(), Logger: quietLogger(), MaxHeaderBytes: 4096}
		c1, done := servePipe(srv)
		go func() {
			c1.Write(input)
			// Then the client goes away.
			c1.Close()
		}()
		go io.Copy(io.Discard, c1)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("provider connection did not finish")
		}
		srv.Close()
	})
}

// FuzzClientResponse feeds arbitrary provider bytes to a client: it must
// return a response or an error, never panic or hang.
func FuzzClientResponse(f *testing.F) {
	ok := append(magic[:], ProtocolVersion)
	resp, _ := bhttp.AppendResponse(nil, &bhttp.Response{ResponseHead: bhttp.ResponseHead{Status: 200}, Content: []byte("hi")})
	f.Add(append(ok, resp...))
	f.Add(append(magic[:], 0, 5, 'n', 'o', 'p', 'e', '!'))
	f.Add([]byte("HTTP/1.1 200 OK\r\n\r\n"))
	f.Fuzz(func(t *testing.T, input []byte) {
		tr := &Transport{
			Provider: AllowAny(),
			DialContext: func(ctx context.Context) (net.Conn, error) {
				c1, c2 := net.Pipe()
				go func() {
					io.CopyN(io.Discard, c2, 1<<20) // the request
				}()
				go func() {
					c2.Write(input)
					c2.Close()
				}()
				return c1, nil
			},
			MaxResponseHeaderBytes: 4096,
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://x/", nil)
		res, err := tr.RoundTrip(req)
		if err != nil {
			return
		}
		io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
		res.Body.Close()
		if ctx.Err() != nil {
			t.Fatal("client hung on provider input")
		}
	})
}
