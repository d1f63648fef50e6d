package message

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"reflect"
	"sync"
	"testing"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/bhttp"
)

// outcome is what a client sees of a response, and what the handler's
// writes returned: the parts the HTTP mapping decides, which the stream
// server and message mode must decide alike.
type outcome struct {
	Info        []int
	Status      int
	ContentType string
	Length      string // Content-Length, for HEAD and 304 only
	Error       string // the httpipc-error field
	Body        string
	Trailer     string // the X-Sum trailer
	WriteErrs   []string
}

// TestWriterRules runs one table of handlers against the stream server and
// message mode, whose response writers buffer differently but must apply
// the same rules: 1xx, statuses the protocol cannot carry, no content for
// HEAD, 204 and 304, content sniffing, the declared Content-Length,
// trailers.
func TestWriterRules(t *testing.T) {
	var mu sync.Mutex
	var writeErrs []string
	write := func(w http.ResponseWriter, s string) {
		_, err := io.WriteString(w, s)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			writeErrs = append(writeErrs, "ok")
		case errors.Is(err, http.ErrBodyNotAllowed):
			writeErrs = append(writeErrs, "body not allowed")
		case errors.Is(err, http.ErrContentLength):
			writeErrs = append(writeErrs, "content length")
		default:
			writeErrs = append(writeErrs, err.Error())
		}
	}
	for _, tc := range []struct {
		name    string
		method  string
		handler http.HandlerFunc
		want    outcome
	}{
		{"informational then final", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.Header().Del("Link")
			write(w, "hello")
		}, outcome{Info: []int{103}, Status: 200, ContentType: "text/plain; charset=utf-8", Body: "hello", WriteErrs: []string{"ok"}}},
		{"101 becomes 500", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusSwitchingProtocols)
		}, outcome{Status: 500}},
		{"above 599 becomes 500", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(600)
			write(w, "x")
		}, outcome{Status: 500, ContentType: "text/plain; charset=utf-8", Body: "x", WriteErrs: []string{"ok"}}},
		{"superfluous WriteHeader", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusCreated)
			w.WriteHeader(http.StatusNotFound)
		}, outcome{Status: 201}},
		{"204 with content", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
			write(w, "x")
		}, outcome{Status: 204, WriteErrs: []string{"body not allowed"}}},
		{"304 with content", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "10")
			w.WriteHeader(http.StatusNotModified)
			write(w, "0123456789")
		}, outcome{Status: 304, Length: "10", WriteErrs: []string{"body not allowed"}}},
		{"HEAD with content", "HEAD", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "5")
			write(w, "hello")
		}, outcome{Status: 200, ContentType: "text/plain; charset=utf-8", Length: "5", WriteErrs: []string{"ok"}}},
		{"sniffed content type", "GET", func(w http.ResponseWriter, r *http.Request) {
			write(w, "")
			write(w, "<!DOCTYPE html><p>hi")
			write(w, "\x00\x01")
		}, outcome{Status: 200, ContentType: "text/html; charset=utf-8", Body: "<!DOCTYPE html><p>hi\x00\x01", WriteErrs: []string{"ok", "ok", "ok"}}},
		{"sniffed over several writes", "GET", func(w http.ResponseWriter, r *http.Request) {
			write(w, "<!DOC")
			write(w, "TYPE html><p>hi")
		}, outcome{Status: 200, ContentType: "text/html; charset=utf-8", Body: "<!DOCTYPE html><p>hi", WriteErrs: []string{"ok", "ok"}}},
		{"HEAD sniffed over several writes", "HEAD", func(w http.ResponseWriter, r *http.Request) {
			write(w, "<!DOC")
			write(w, "TYPE html><p>hi")
		}, outcome{Status: 200, ContentType: "text/html; charset=utf-8", WriteErrs: []string{"ok", "ok"}}},
		{"no sniffing of encoded content", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "identity")
			write(w, "<html>")
		}, outcome{Status: 200, Body: "<html>", WriteErrs: []string{"ok"}}},
		{"content past the Content-Length", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "2")
			w.Header().Set("Content-Type", "text/plain")
			write(w, "abc")
			write(w, "ab")
			write(w, "c")
		}, outcome{Status: 200, ContentType: "text/plain", Body: "ab", WriteErrs: []string{"content length", "ok", "content length"}}},
		{"trailer", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "X-Sum")
			write(w, "abc")
			w.Header().Set("X-Sum", "3")
		}, outcome{Status: 200, ContentType: "text/plain; charset=utf-8", Body: "abc", Trailer: "3", WriteErrs: []string{"ok"}}},
		{"invalid status", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(99)
		}, outcome{Status: 500, ContentType: "text/plain; charset=utf-8", Error: httpipc.ErrorHandlerPanic, Body: "internal server error\n"}},
	} {
		for _, mode := range []string{"stream", "message"} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				writeErrs = nil
				var got outcome
				if mode == "stream" {
					got = streamOutcome(t, tc.method, tc.handler)
				} else {
					got = messageOutcome(t, tc.method, tc.handler)
				}
				mu.Lock()
				got.WriteErrs = writeErrs
				mu.Unlock()
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("got  %+v\nwant %+v", got, tc.want)
				}
			})
		}
	}
}

// streamOutcome serves one request with httpipc.Server over an in-memory
// connection and reads it with httpipc.Transport.
func streamOutcome(t *testing.T, method string, h http.Handler) outcome {
	srv := &httpipc.Server{Handler: h, Policy: httpipc.AllowAny(), Logger: quiet()}
	defer srv.Close()
	dial := func(ctx context.Context) (net.Conn, error) {
		c1, c2 := net.Pipe()
		go srv.ServeConn(context.Background(), c2)
		return c1, nil
	}
	tr := &httpipc.Transport{DialContext: dial, Provider: httpipc.AllowAny(), MaxIdleConns: -1}
	var o outcome
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
		o.Info = append(o.Info, code)
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), method, "http://lms/", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	o.fill(method, resp.StatusCode, resp.Header, string(b), resp.Trailer)
	return o
}

// messageOutcome serves one request message with message.Server and
// decodes the response message whole, informational responses included.
func messageOutcome(t *testing.T, method string, h http.Handler) outcome {
	srv := &Server{Handler: h, Logger: quiet()}
	in, err := bhttp.AppendRequest(nil, &bhttp.Request{RequestHead: bhttp.RequestHead{Method: method, Scheme: "http", Authority: "lms", Path: "/"}})
	if err != nil {
		t.Fatal(err)
	}
	out := srv.ServeMessage(context.Background(), selfCreds(), in)
	decode := bhttp.DecodeResponse
	if method == http.MethodHead {
		decode = bhttp.DecodeHeadResponse
	}
	resp, err := decode(out, bhttp.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var o outcome
	for _, i := range resp.Informational {
		o.Info = append(o.Info, i.Status)
	}
	o.fill(method, resp.Status, resp.Header, string(resp.Content), resp.Trailer)
	return o
}

func (o *outcome) fill(method string, status int, h http.Header, body string, trailer http.Header) {
	o.Status, o.ContentType, o.Error, o.Body = status, h.Get("Content-Type"), h.Get(httpipc.ErrorField), body
	if method == http.MethodHead || status == http.StatusNotModified {
		// The length of the representation, which both pass through.
		// (Message mode adds a Content-Length to other responses, whose
		// content it holds whole; the stream sends the handler's.)
		o.Length = h.Get("Content-Length")
	}
	o.Trailer = trailer.Get("X-Sum")
}
