package message

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/bhttp"
	"github.com/httpipc/httpipc/peercred"
)

func selfCreds() *peercred.Creds { return peercred.Self() }

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func testHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s from uid %d", r.URL.Query().Get("name"), httpipc.Peer(r).UID)
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Len")
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
		w.Header().Set("X-Len", fmt.Sprint(len(b)))
		w.Header().Set("X-Req-Trailer", r.Trailer.Get("X-T"))
	})
	mux.HandleFunc("GET /hints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /big", func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, 1<<20))
	})
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	return mux
}

// channels returns every kind of channel this platform has, each in front
// of srv.
func channels(t *testing.T, srv *Server) map[string]Channel {
	chans := map[string]Channel{"local": Local(srv, 0)}
	if runtime.GOOS == "linux" {
		chans["seqpacket"] = seqPacket(t, srv)
	}
	return chans
}

func TestRoundTrips(t *testing.T) {
	srv := &Server{Handler: testHandler(), Logger: quiet()}
	for name, ch := range channels(t, srv) {
		t.Run(name, func(t *testing.T) {
			c := &http.Client{Transport: &Transport{Channel: ch}}
			tests := []struct {
				name, method, path, body string
				trailer                  http.Header
				wantStatus               int
				wantBody                 string
				check                    func(*http.Response) error
			}{
				{name: "get", method: "GET", path: "/hello?name=ada", wantStatus: 200, wantBody: fmt.Sprintf("hello ada from uid %d", os.Getuid())},
				{name: "post with trailers", method: "POST", path: "/echo", body: "ping", trailer: http.Header{"X-T": {"t"}}, wantStatus: 200, wantBody: "ping",
					check: func(r *http.Response) error {
						if r.Trailer.Get("X-Len") != "4" || r.Header.Get("X-Req-Trailer") != "t" {
							return fmt.Errorf("trailer %v", r.Trailer)
						}
						return nil
					}},
				{name: "informational then 204", method: "GET", path: "/hints", wantStatus: 204},
				{name: "not found", method: "GET", path: "/nope", wantStatus: 404, wantBody: "404 page not found\n"},
				{name: "head", method: "HEAD", path: "/hello", wantStatus: 200},
				{name: "panic", method: "GET", path: "/panic", wantStatus: 500, wantBody: "internal server error\n"},
				{name: "response too large", method: "GET", path: "/big", wantStatus: 500,
					check: func(r *http.Response) error {
						if r.Header.Get("Httpipc-Error") != "response-too-large" {
							return fmt.Errorf("httpipc-error %q", r.Header.Get("Httpipc-Error"))
						}
						return nil
					}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					var body io.Reader
					if tt.body != "" {
						body = strings.NewReader(tt.body)
					}
					req, _ := http.NewRequest(tt.method, "http://lms"+tt.path, body)
					req.Trailer = tt.trailer
					resp, err := c.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != tt.wantStatus || (tt.wantBody != "" && string(b) != tt.wantBody) {
						t.Fatalf("got %d %q, want %d %q", resp.StatusCode, b, tt.wantStatus, tt.wantBody)
					}
					if tt.check != nil {
						if err := tt.check(resp); err != nil {
							t.Fatal(err)
						}
					}
				})
			}
			// A request that does not fit fails before anything is sent.
			_, err := c.Post("http://lms/echo", "text/plain", bytes.NewReader(make([]byte, ch.MaxMessageSize()+1)))
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("oversized request: %v, want ErrTooLarge", err)
			}
			// The channel still works afterwards.
			if resp, err := c.Get("http://lms/hello"); err != nil || resp.StatusCode != 200 {
				t.Fatalf("after a refused request: %v", err)
			}
		})
	}
}

func TestServeMessageBadInput(t *testing.T) {
	srv := &Server{Handler: testHandler(), Logger: quiet(), MaxMessageSize: 1024}
	get, _ := bhttp.AppendRequest(nil, &bhttp.Request{RequestHead: bhttp.RequestHead{Method: "GET", Scheme: "http", Path: "/hello"}})
	tests := []struct {
		name       string
		input      []byte
		policy     httpipc.Policy
		wantStatus int
		wantCode   string
	}{
		{"empty", nil, nil, 400, "malformed"},
		{"garbage", []byte("GET / HTTP/1.1\r\n\r\n"), nil, 400, "malformed"},
		{"truncated", get[:5], nil, 400, "malformed"},
		{"over the limit", append(get, make([]byte, 2000)...), nil, 413, "too-large"},
		{"uppercase field", []byte{2, 3, 'G', 'E', 'T', 4, 'h', 't', 't', 'p', 0, 1, '/', 1, 'X', 1, 'y', 0, 0, 0}, nil, 400, "malformed"},
		{"peer not allowed", get, httpipc.AllowUIDs(os.Getuid() + 1), 403, "forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := *srv
			s.Policy = tt.policy
			out := s.ServeMessage(context.Background(), selfCreds(), tt.input)
			resp, err := bhttp.DecodeResponse(out, bhttp.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != tt.wantStatus || resp.Header.Get("Httpipc-Error") != tt.wantCode {
				t.Fatalf("got %d %q %q", resp.Status, resp.Header.Get("Httpipc-Error"), resp.Content)
			}
		})
	}
}

func FuzzServeMessage(f *testing.F) {
	get, _ := bhttp.AppendRequest(nil, &bhttp.Request{RequestHead: bhttp.RequestHead{Method: "GET", Scheme: "http", Path: "/hello"}})
	f.Add(get)
	post, _ := bhttp.AppendRequest(nil, &bhttp.Request{RequestHead: bhttp.RequestHead{Method: "POST", Scheme: "http", Path: "/echo"}, Content: []byte("x")})
	f.Add(post)
	srv := &Server{Handler: testHandler(), Logger: quiet(), MaxMessageSize: 4096, Policy: httpipc.AllowAny()}
	f.Fuzz(func(t *testing.T, in []byte) {
		out := srv.ServeMessage(context.Background(), selfCreds(), in)
		if _, err := bhttp.DecodeResponse(out, bhttp.Limits{}); err != nil {
			t.Fatalf("the adapter produced an undecodable response: %v", err)
		}
	})
}

// TestNoContentResponses: in message mode too, a response to HEAD and a
// 304 keep the handler's Content-Length and carry no content.
func TestNoContentResponses(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/doc", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		if r.URL.Query().Has("unchanged") {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if r.Method != http.MethodHead {
			io.WriteString(w, "0123456789")
		}
	})
	for name, ch := range channels(t, &Server{Handler: mux, Logger: quiet()}) {
		c := &http.Client{Transport: &Transport{Channel: ch}}
		for _, tc := range []struct {
			method, query string
			status        int
		}{{"HEAD", "", 200}, {"HEAD", "unchanged", 304}, {"GET", "unchanged", 304}} {
			req, _ := http.NewRequest(tc.method, "http://lms/doc?"+tc.query, nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("%s %s %s: %v", name, tc.method, tc.query, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || len(b) != 0 || resp.Header.Get("Content-Length") != "10" {
				t.Fatalf("%s %s %s: %d %q, Content-Length %q", name, tc.method, tc.query, resp.StatusCode, b, resp.Header.Get("Content-Length"))
			}
		}
	}
}

// TestInvalidResponses: a handler's response that cannot be sent as it is
// (a field breaking the field rules, a content-length that disagrees with
// the content) is replaced by 500 invalid-response.
func TestInvalidResponses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"control byte in a field", func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-Bad", "a\x01b") }},
		{"wrong content-length", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "5")
			w.Write([]byte("x"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &http.Client{Transport: &Transport{Channel: Local(&Server{Handler: tc.handler, Logger: quiet()}, 0)}}
			resp, err := c.Get("http://lms/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 500 || resp.Header.Get("Httpipc-Error") != "invalid-response" {
				t.Fatalf("%d %v, want 500 invalid-response", resp.StatusCode, resp.Header)
			}
		})
	}
}

// garbageChannel answers every call with bytes that are not a response.
type garbageChannel struct{}

func (garbageChannel) Call(context.Context, []byte) ([]byte, error) {
	return []byte("HTTP/1.1 200 OK\r\n\r\n"), nil
}
func (garbageChannel) MaxMessageSize() int { return 0 }

// TestTransportErrors: the Transport reports a provider's refusal and an
// undecodable response with the errors of httpipc.Transport, so a caller
// handles every transport alike.
func TestTransportErrors(t *testing.T) {
	srv := &Server{Handler: testHandler(), Logger: quiet(), Policy: httpipc.AllowUIDs(os.Getuid() + 1)}
	for name, ch := range channels(t, srv) {
		_, err := (&http.Client{Transport: &Transport{Channel: ch}}).Get("http://lms/hello")
		if !errors.Is(err, httpipc.ErrRefused) || !strings.Contains(err.Error(), "not in the allowed uids") {
			t.Errorf("%s: a refused caller got %v, want %v with the reason", name, err, httpipc.ErrRefused)
		}
	}
	_, err := (&http.Client{Transport: &Transport{Channel: garbageChannel{}}}).Get("http://lms/hello")
	if !errors.Is(err, httpipc.ErrProtocol) {
		t.Errorf("an undecodable response: got %v, want %v", err, httpipc.ErrProtocol)
	}
	// A 403 of the API itself, without the httpipc-error field, is a
	// response.
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusForbidden) })
	resp, err := (&http.Client{Transport: &Transport{Channel: Local(&Server{Handler: mux, Logger: quiet()}, 0)}}).Get("http://lms/")
	if err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("the API's own 403: %v %v", resp, err)
	}
}
