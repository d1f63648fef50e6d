package httpipc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"flag"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/httpipc/httpipc/bhttp"
	"github.com/httpipc/httpipc/internal/golden"
)

var update = flag.Bool("update", false, "rewrite testdata/protocol-vectors.json")

// connVector is one entry of testdata/protocol-vectors.json: the bytes a
// client sends on a fresh connection and the bytes the provider answers.
type connVector struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Handler     string `json:"handler"`
	// HandlerIndependent says that every provider answers Client with
	// Server whatever its handler: the answer is the protocol's own (a
	// refusal, an error response).
	HandlerIndependent bool   `json:"handler_independent"`
	Client             string `json:"client"`
	Server             string `json:"server"`
}

const vectorHandlerDoc = "GET /hello answers 200, content-type text/plain, body \"hello\\n\"; " +
	"POST /echo answers 200, content-type application/octet-stream, with the request body and a trailer " +
	"x-echo-trailer copied from the request's x-trailer; GET /hints sends 103 with link </a.css>, then 204."

// vectorHandler is the handler the protocol vectors were recorded with.
func vectorHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello\n")
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Trailer", "X-Echo-Trailer")
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
		w.Header().Set("X-Echo-Trailer", r.Trailer.Get("X-Trailer"))
	})
	mux.HandleFunc("GET /hints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func clientPreface(lo, hi byte) []byte { return append(magic[:], lo, hi) }

func mustAppend(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func getReq(path string) []byte {
	b := mustAppend(bhttp.AppendRequestHead(nil, &bhttp.RequestHead{Method: "GET", Scheme: "http", Authority: "lms", Path: path}))
	return mustAppend(bhttp.AppendEnd(b, nil))
}

// handlerIndependent lists the vectors whose answer no handler changes.
var handlerIndependent = map[string]bool{
	"malformed-uppercase-field": true, "unsupported-version": true, "bad-magic": true, "malformed-control-in-value": true,
}

func definedConnVectors() []connVector {
	post := mustAppend(bhttp.AppendRequestHead(nil, &bhttp.RequestHead{Method: "POST", Scheme: "http", Authority: "lms", Path: "/echo",
		Header: http.Header{"Content-Type": {"application/octet-stream"}}}))
	post = bhttp.AppendChunk(post, []byte("ab"))
	post = bhttp.AppendChunk(post, []byte("cd"))
	post = mustAppend(bhttp.AppendEnd(post, http.Header{"X-Trailer": {"t1"}}))
	upper := []byte{bhttp.IndeterminateLengthRequest, 3, 'G', 'E', 'T', 4, 'h', 't', 't', 'p', 0, 1, '/', 1, 'X', 1, 'y', 0, 0, 0}
	ctlValue := []byte{bhttp.IndeterminateLengthRequest, 3, 'G', 'E', 'T', 4, 'h', 't', 't', 'p', 0, 1, '/', 1, 'x', 3, 'a', 1, 'b', 0, 0, 0}
	h := func(parts ...[]byte) string { return hex.EncodeToString(bytes.Join(parts, nil)) }
	return []connVector{
		{Name: "get", Description: "preface, one GET, the response with the server preface in front",
			Client: h(clientPreface(1, 1), getReq("/hello"))},
		{Name: "two-requests", Description: "two GETs one after the other on one connection",
			Client: h(clientPreface(1, 1), getReq("/hello"), getReq("/hello"))},
		{Name: "post-chunked-with-trailer", Description: "a POST whose content comes in two chunks, with a trailer; the response echoes both",
			Client: h(clientPreface(1, 1), post)},
		{Name: "informational", Description: "a 103 informational response inside the response message, then 204",
			Client: h(clientPreface(1, 1), getReq("/hints"))},
		{Name: "not-found", Description: "a path the handler does not serve: 404 from the API, no httpipc-error field",
			Client: h(clientPreface(1, 1), getReq("/nothing"))},
		{Name: "malformed-uppercase-field", Description: "an uppercase field name: 400 with httpipc-error malformed, then the provider closes",
			Client: h(clientPreface(1, 1), upper)},
		{Name: "unsupported-version", Description: "the client offers only version 2: refusal preface with a reason",
			Client: h(clientPreface(2, 2))},
		{Name: "newer-client", Description: "the client offers versions 1 to 5: the provider picks 1",
			Client: h(clientPreface(1, 5), getReq("/hello"))},
		{Name: "bad-magic", Description: "a preface with a wrong magic byte: refusal",
			Client: h([]byte{0x89, 'I', 'P', 'X', '\r', '\n', 0x1a, '\n', 1, 1})},
		{Name: "malformed-control-in-value", Description: "a field value with the control byte 0x01: 400 with httpipc-error malformed, then the provider closes",
			Client: h(clientPreface(1, 1), ctlValue)},
	}
}

// servePipe serves one in-memory connection and returns its client end and
// a channel closed when the provider is done with it.
func servePipe(srv *Server) (net.Conn, <-chan struct{}) {
	c1, c2 := net.Pipe()
	done := make(chan struct{})
	go func() {
		_ = srv.ServeConn(context.Background(), c2)
		close(done)
	}()
	return c1, done
}

type recorder struct {
	r   io.Reader
	buf bytes.Buffer
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.buf.Write(p[:n])
	return n, err
}

// runVector plays client bytes against a provider and returns what it sent
// back: the server preface, then responses responses; when closes is set, the
// provider must then close the connection.
func runVector(t *testing.T, h http.Handler, client []byte, responses int, closes bool) []byte {
	t.Helper()
	c1, done := servePipe(&Server{Handler: h, Policy: AllowAny(), Logger: quietLogger()})
	go c1.Write(client)
	rec := &recorder{r: c1}
	br := bufio.NewReader(rec)
	p := make([]byte, prefaceLen+1)
	if _, err := io.ReadFull(br, p); err != nil {
		t.Fatalf("reading server preface: %v", err)
	}
	if p[prefaceLen] != versionRefused {
		dec := bhttp.NewReader(br, bhttp.Limits{})
		for i := 0; i < responses; i++ {
			if _, err := dec.ReadResponseHead(nil); err != nil {
				t.Fatalf("response %d: %v", i, err)
			}
			if _, err := io.Copy(io.Discard, dec); err != nil {
				t.Fatalf("response %d: %v", i, err)
			}
		}
	}
	if closes || p[prefaceLen] == versionRefused {
		if _, err := io.Copy(io.Discard, br); err != nil {
			t.Fatalf("waiting for the provider to close: %v", err)
		}
	}
	c1.Close()
	<-done
	return rec.buf.Bytes()
}

func TestProtocolVectors(t *testing.T) {
	const file = "testdata/protocol-vectors.json"
	defined := definedConnVectors()
	for i := range defined {
		defined[i].Handler = vectorHandlerDoc
		b, _ := hex.DecodeString(defined[i].Client)
		responses, closes := 1, false
		switch defined[i].Name {
		case "two-requests":
			responses = 2
		case "malformed-uppercase-field", "malformed-control-in-value":
			closes = true
		}
		defined[i].Server = hex.EncodeToString(runVector(t, vectorHandler(), b, responses, closes))
		if handlerIndependent[defined[i].Name] {
			defined[i].HandlerIndependent = true
			if other := hex.EncodeToString(runVector(t, http.NotFoundHandler(), b, responses, closes)); other != defined[i].Server {
				t.Fatalf("%s: the answer depends on the handler: %s", defined[i].Name, other)
			}
		}
	}
	stored := golden.Sync(t, file, defined, *update)
	if len(stored) != len(defined) {
		t.Fatalf("%s has %d vectors, want %d: run go test -run TestProtocolVectors -update", file, len(stored), len(defined))
	}
	for i, v := range stored {
		t.Run(v.Name, func(t *testing.T) {
			if v.Client != defined[i].Client {
				t.Fatalf("client bytes changed: run go test -run TestProtocolVectors -update")
			}
			if v.Server != defined[i].Server {
				t.Fatalf("provider answered\n%s\nwant\n%s", defined[i].Server, v.Server)
			}
			if !strings.HasPrefix(v.Server, hex.EncodeToString(magic[:])) {
				t.Fatalf("answer does not start with the server preface")
			}
		})
	}
}
