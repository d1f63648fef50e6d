package httpipc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/httpipc/httpipc/bhttp"
	"github.com/httpipc/httpipc/internal/testprog"
)

// quietLogger drops log output that tests provoke on purpose.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startServer serves h on a fresh Unix socket and returns its address.
func startServer(t *testing.T, srv *Server) string {
	t.Helper()
	addr := "unix:" + filepath.Join(t.TempDir(), "p.sock")
	serveOn(t, addr, srv)
	return addr
}

func testMux(t *testing.T) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+r.URL.Query().Get("name"))
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		w.Header().Set("Trailer", "X-Sum")
		n, _ := io.Copy(w, r.Body)
		w.Header().Set("X-Sum", fmt.Sprint(n))
		w.Header().Set("X-Got-Trailer", r.Trailer.Get("X-Req-Trailer"))
	})
	mux.HandleFunc("/peer", func(w http.ResponseWriter, r *http.Request) {
		p := Peer(r)
		if p == nil {
			http.Error(w, "no peer", 500)
			return
		}
		fmt.Fprintf(w, "%d %d", p.UID, p.PID)
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; i < 3; i++ {
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		var code int
		fmt.Sscan(r.PathValue("code"), &code)
		w.WriteHeader(code)
	})
	mux.HandleFunc("/hints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		io.WriteString(w, "after hints")
	})
	mux.HandleFunc("/panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	mux.HandleFunc("POST /readall", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "read %d bytes", len(b))
	})
	return mux
}

func TestRoundTrips(t *testing.T) {
	addr := startServer(t, &Server{Handler: testMux(t)})
	c := NewClient(addr)
	tests := []struct {
		name       string
		method     string
		path       string
		body       io.Reader
		trailer    http.Header
		wantStatus int
		wantBody   string
		check      func(t *testing.T, resp *http.Response)
	}{
		{name: "get with query", method: "GET", path: "/hello?name=ada", wantStatus: 200, wantBody: "hello ada",
			check: func(t *testing.T, resp *http.Response) {
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Errorf("sniffed Content-Type %q", ct)
				}
			}},
		{name: "post small body", method: "POST", path: "/echo", body: strings.NewReader("ping"), wantStatus: 200, wantBody: "ping",
			check: func(t *testing.T, resp *http.Response) {
				if got := resp.Trailer.Get("X-Sum"); got != "4" {
					t.Errorf("trailer X-Sum = %q", got)
				}
			}},
		{name: "post streamed body with trailer", method: "POST", path: "/echo",
			body:    io.MultiReader(strings.NewReader(strings.Repeat("a", 100000)), strings.NewReader("z")),
			trailer: http.Header{"X-Req-Trailer": {"yes"}}, wantStatus: 200, wantBody: strings.Repeat("a", 100000) + "z",
			check: func(t *testing.T, resp *http.Response) {
				if got := resp.Trailer.Get("X-Sum"); got != "100001" {
					t.Errorf("trailer X-Sum = %q", got)
				}
			}},
		{name: "not found", method: "GET", path: "/nope", wantStatus: 404, wantBody: "404 page not found\n"},
		{name: "no content", method: "GET", path: "/status/204", wantStatus: 204},
		{name: "server error status", method: "GET", path: "/status/503", wantStatus: 503},
		{name: "head", method: "HEAD", path: "/hello", wantStatus: 200},
		{name: "streamed response", method: "GET", path: "/stream", wantStatus: 200, wantBody: "data: 0\n\ndata: 1\n\ndata: 2\n\n"},
		{name: "handler panic", method: "GET", path: "/panic", wantStatus: 500, wantBody: "internal server error\n",
			check: func(t *testing.T, resp *http.Response) {
				if resp.Header.Get(ErrorField) != "handler-panic" {
					t.Errorf("missing %s", ErrorField)
				}
			}},
		{name: "peer identity", method: "GET", path: "/peer", wantStatus: 200, wantBody: fmt.Sprintf("%d %d", os.Getuid(), os.Getpid())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, "http://lms"+tt.path, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			req.Trailer = tt.trailer
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || string(body) != tt.wantBody {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, trim(body), tt.wantStatus, trim([]byte(tt.wantBody)))
			}
			if tt.check != nil {
				tt.check(t, resp)
			}
		})
	}
}

func trim(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}

func TestInformational(t *testing.T) {
	addr := startServer(t, &Server{Handler: testMux(t)})
	var got []int
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		got = append(got, code)
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", "http://lms/hints", nil)
	resp, err := NewClient(addr).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(got) != 1 || got[0] != 103 || string(body) != "after hints" {
		t.Fatalf("1xx %v, body %q", got, body)
	}
}

func TestConcurrent(t *testing.T) {
	addr := startServer(t, &Server{Handler: testMux(t)})
	tr := &Transport{Service: addr}
	c := &http.Client{Transport: tr}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			resp, err := c.Post("http://lms/echo", "text/plain", strings.NewReader(fmt.Sprint(i)))
			if err != nil {
				errs <- err
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != fmt.Sprint(i) {
				errs <- fmt.Errorf("request %d got %q", i, b)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCancel(t *testing.T) {
	handlerCtx := make(chan error, 1)
	started := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/wait", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
		handlerCtx <- r.Context().Err()
	})
	mux.HandleFunc("/forever", func(w http.ResponseWriter, r *http.Request) {
		for r.Context().Err() == nil {
			if _, err := w.Write(make([]byte, 1024)); err != nil {
				break
			}
			w.(http.Flusher).Flush()
		}
		// Whether the failed write or the cancellation came first, the
		// context must end.
		<-r.Context().Done()
		handlerCtx <- r.Context().Err()
	})
	addr := startServer(t, &Server{Handler: mux})
	c := NewClient(addr)

	t.Run("context cancelled while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-started
			cancel()
		}()
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://lms/wait", nil)
		_, err := c.Do(req)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("client error %v, want context.Canceled", err)
		}
		if err := <-handlerCtx; err == nil {
			t.Fatal("handler context not cancelled")
		}
	})
	t.Run("body closed early", func(t *testing.T) {
		resp, err := c.Get("http://lms/forever")
		if err != nil {
			t.Fatal(err)
		}
		io.ReadFull(resp.Body, make([]byte, 4096))
		resp.Body.Close()
		if err := <-handlerCtx; err == nil {
			t.Fatal("handler context not cancelled")
		}
	})
}

func TestOAuth2Client(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Header.Get("Authorization"))
	})
	addr := startServer(t, &Server{Handler: mux})
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, NewClient(addr))
	c := oauth2.NewClient(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "tok", TokenType: "Bearer"}))
	resp, err := c.Get("http://lms/me")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "Bearer tok" {
		t.Fatalf("got %q", b)
	}
}

func TestPolicyRefusesPeer(t *testing.T) {
	var ran atomic.Bool
	var logs bytes.Buffer
	var mu sync.Mutex
	srv := &Server{
		Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran.Store(true) }),
		Policy:  AllowUIDs(os.Getuid() + 12345),
		Logger:  slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil)),
	}
	addr := startServer(t, srv)
	_, err := NewClient(addr).Get("http://lms/")
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("got %v, want ErrRefused", err)
	}
	// HTTP/1.1 on the same socket is refused too.
	resp, err := http1Client(addr).Get("http://x/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("HTTP/1.1 got %d", resp.StatusCode)
	}
	if ran.Load() {
		t.Fatal("handler ran for a refused peer")
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), fmt.Sprintf("uid=%d", os.Getuid())) || !strings.Contains(logs.String(), fmt.Sprintf("pid=%d", os.Getpid())) {
		t.Fatalf("refusal not logged with uid and pid: %s", logs.String())
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestProviderIdentity(t *testing.T) {
	addr := startServer(t, &Server{Handler: testMux(t)})
	c := &http.Client{Transport: &Transport{Service: addr, Provider: AllowUIDs(os.Getuid() + 1)}}
	_, err := c.Get("http://lms/hello")
	if !errors.Is(err, ErrProviderIdentity) {
		t.Fatalf("got %v, want ErrProviderIdentity", err)
	}
}

func http1Client(addr string) *http.Client {
	path := strings.TrimPrefix(addr, "unix:")
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
}

func TestHTTP1SameSocket(t *testing.T) {
	addr := startServer(t, &Server{Handler: testMux(t)})
	resp, err := http1Client(addr).Get("http://x/peer")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != fmt.Sprintf("%d %d", os.Getuid(), os.Getpid()) {
		t.Fatalf("got %q", b)
	}
	testprog.Path(t, "curl", testprog.Clients)
	out, err := exec.Command("curl", "-sS", "--unix-socket", strings.TrimPrefix(addr, "unix:"), "http://x/hello?name=curl").CombinedOutput()
	if err != nil || string(out) != "hello curl" {
		t.Fatalf("curl: %v %q", err, out)
	}
}

// rawExchange sends raw bytes on a new connection and decodes the answer.
func rawExchange(t *testing.T, addr string, b []byte) (*bhttp.ResponseHead, string, error) {
	t.Helper()
	nc, err := net.Dial("unix", strings.TrimPrefix(addr, "unix:"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	go nc.Write(b)
	br := bufio.NewReader(nc)
	p := make([]byte, prefaceLen+1)
	if _, err := io.ReadFull(br, p); err != nil {
		return nil, "", err
	}
	if p[prefaceLen] == versionRefused {
		return nil, "", ErrRefused
	}
	dec := bhttp.NewReader(br, bhttp.Limits{})
	h, err := dec.ReadResponseHead(nil)
	if err != nil {
		return nil, "", err
	}
	body, err := io.ReadAll(dec)
	return h, string(body), err
}

func TestBadInput(t *testing.T) {
	srv := &Server{Handler: testMux(t), MaxHeaderBytes: 1024, MaxRequestBodyBytes: 1000}
	addr := startServer(t, srv)
	pre := clientPreface(1, 1)
	head := func(h http.Header) []byte {
		b, _ := bhttp.AppendRequestHead(nil, &bhttp.RequestHead{Method: "POST", Scheme: "http", Path: "/echo", Header: h})
		return b
	}
	end, _ := bhttp.AppendEnd(nil, nil)
	readall, _ := bhttp.AppendRequestHead(nil, &bhttp.RequestHead{Method: "POST", Scheme: "http", Path: "/readall"})
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name       string
		input      []byte
		wantStatus int
		wantCode   string
		wantErr    error
	}{
		{"oversized header", cat(pre, head(http.Header{"X-Big": {strings.Repeat("b", 2000)}}), end), 431, "too-large", nil},
		{"oversized body", cat(pre, readall, bhttp.AppendChunk(nil, make([]byte, 5000)), end), 413, "too-large", nil},
		{"uppercase field", cat(pre, []byte{2, 3, 'G', 'E', 'T', 4, 'h', 't', 't', 'p', 0, 1, '/', 1, 'X', 1, 'y', 0, 0, 0}), 400, "malformed", nil},
		{"absolute-form path", cat(pre, []byte{2, 3, 'G', 'E', 'T', 4, 'h', 't', 't', 'p', 0, 3, 'a', ':', 'b', 0, 0, 0}), 400, "malformed", nil},
		{"unknown framing", cat(pre, []byte{7, 0, 0}), 400, "malformed", nil},
		{"unsupported version", clientPreface(9, 9), 0, "", ErrRefused},
		{"bad magic", cat([]byte{0x89, 0, 0, 0, 0, 0, 0, 0, 1, 1}), 0, "", ErrRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, body, err := rawExchange(t, addr, tt.input)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Status != tt.wantStatus || h.Header.Get(ErrorField) != tt.wantCode || body == "" {
				t.Fatalf("got %d %q %q", h.Status, h.Header.Get(ErrorField), body)
			}
		})
	}
	// The provider still serves everyone else.
	resp, err := NewClient(addr).Get("http://lms/hello?name=after")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "hello after" {
		t.Fatalf("got %q", b)
	}
	// A garbage first byte is neither protocol.
	nc, err := net.Dial("unix", strings.TrimPrefix(addr, "unix:"))
	if err != nil {
		t.Fatal(err)
	}
	nc.Write([]byte{0x01, 0x02})
	line, _ := bufio.NewReader(nc).ReadString('\n')
	nc.Close()
	if !strings.HasPrefix(line, "HTTP/1.1 400") {
		t.Fatalf("garbage got %q", line)
	}
}

func TestReconnectAfterRestart(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "p.sock")
	addr := "unix:" + sock
	serve := func() (stop func()) {
		ln, err := Listen(addr)
		if err != nil {
			t.Fatal(err)
		}
		srv := &Server{Handler: testMux(t), Logger: quietLogger()}
		done := make(chan struct{})
		go func() { srv.Serve(ln); close(done) }()
		return func() { srv.Close(); <-done }
	}
	c := NewClient(addr)
	get := func() error {
		resp, err := c.Get("http://lms/hello")
		if err != nil {
			return err
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		return err
	}
	stop := serve()
	if err := get(); err != nil {
		t.Fatal(err)
	}
	stop()
	if err := get(); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("with the provider gone: %v, want ErrNotRunning", err)
	}
	stop = serve()
	defer stop()
	if err := get(); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}

func TestIdleExit(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "p.sock")
	release := make(chan struct{})
	entered := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "done")
	})
	ln, err := Listen("unix:" + sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Handler: mux, IdleTimeout: 50 * time.Millisecond, Logger: quietLogger()}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	type result struct {
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := NewClient("unix:" + sock).Get("http://lms/slow")
		if err != nil {
			res <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{string(b), err}
	}()
	<-entered
	// The request is in flight for longer than the idle timeout: the
	// server must not exit under it.
	select {
	case err := <-errc:
		t.Fatalf("Serve returned %v with a request in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if r := <-res; r.err != nil || r.body != "done" {
		t.Fatalf("in-flight request: %q %v", r.body, r.err)
	}
	if err := <-errc; !errors.Is(err, ErrIdle) || !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve returned %v, want ErrIdle", err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Fatalf("socket file left behind: %v", err)
	}
}

// countConn counts the writes on a connection.
type countConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// A body of unknown length (ContentLength 0 with a body, as net/http has
// it) goes in full chunks, and a small one of known length in one write
// with the head.
func TestBodyChunking(t *testing.T) {
	addr := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, n)
	})})
	var writes atomic.Int64
	tr := &Transport{DialContext: func(ctx context.Context) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, "unix", strings.TrimPrefix(addr, "unix:"))
		return countConn{c, &writes}, err
	}, Provider: AllowAny()}
	c := &http.Client{Transport: tr}
	for _, tc := range []struct {
		name      string
		body      io.Reader
		size      int
		maxWrites int64
	}{
		{"unknown length", io.MultiReader(bytes.NewReader(make([]byte, 1<<20))), 1 << 20, 64},
		{"small known length", bytes.NewReader(make([]byte, 100)), 100, 2},
	} {
		writes.Store(0)
		resp, err := c.Post("http://x/", "application/octet-stream", tc.body)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != fmt.Sprint(tc.size) {
			t.Fatalf("%s: server read %s bytes", tc.name, b)
		}
		if n := writes.Load(); n > tc.maxWrites {
			t.Errorf("%s: %d writes, want at most %d", tc.name, n, tc.maxWrites)
		}
	}
}

// TestNoContentResponses: a response to HEAD and a 304 carry the handler's
// Content-Length (the length of the representation) and no content.
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
	c := NewClient(startServer(t, &Server{Handler: mux}))
	for _, tc := range []struct {
		method, query string
		status        int
		body          string
	}{
		{"HEAD", "", 200, ""},
		{"HEAD", "unchanged", 304, ""},
		{"GET", "", 200, "0123456789"},
		{"GET", "unchanged", 304, ""},
	} {
		t.Run(tc.method+" "+tc.query, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, "http://lms/doc?"+tc.query, nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != tc.status || string(b) != tc.body || resp.Header.Get("Content-Length") != "10" {
				t.Fatalf("%d %q %v, Content-Length %q; want %d %q, Content-Length 10", resp.StatusCode, b, err, resp.Header.Get("Content-Length"), tc.status, tc.body)
			}
		})
	}
}

// TestSniffLikeNetHTTP: the Content-Type of a response whose handler set
// none is sniffed from its first 512 bytes of content, over several writes
// if need be, or from what there is at a flush or the handler's end, as
// net/http does, for GET and HEAD alike; and a handler turns sniffing off as
// it does there: a Content-Type key without a value, a Content-Encoding or a
// Transfer-Encoding.
func TestSniffLikeNetHTTP(t *testing.T) {
	handlers := map[string]http.HandlerFunc{
		"none": func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html><p>hi") },
		"set": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/x-lesson")
			io.WriteString(w, "hi")
		},
		"nil": func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = nil
			io.WriteString(w, "<html><p>hi")
		},
		"encoded": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "x-custom")
			io.WriteString(w, "<html><p>hi")
		},
		"split first write": func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "<!DOC")
			io.WriteString(w, "TYPE html><p>hi")
		},
		"small writes past 512 bytes": func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "\n")
			for i := 0; i < 100; i++ {
				io.WriteString(w, "<p>hi</p>")
			}
		},
		"flush before the type shows": func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "<!DOC")
			w.(http.Flusher).Flush()
			io.WriteString(w, "TYPE html><p>hi")
		},
		"large first write": func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, strings.Repeat(" ", 600)+"<html>")
		},
		"binary": func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte{0x89, 'P', 'N', 'G'})
			w.Write([]byte("\r\n\x1a\n rest of a picture"))
		},
		"transfer-encoding": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Transfer-Encoding", "chunked")
			io.WriteString(w, "<html><p>hi")
		},
		"empty write first": func(w http.ResponseWriter, r *http.Request) {
			w.Write(nil)
			io.WriteString(w, "{}")
		},
	}
	mux := http.NewServeMux()
	for name, h := range handlers {
		mux.HandleFunc("/"+strings.ReplaceAll(name, " ", "-"), h)
	}
	ipc := NewClient(startServer(t, &Server{Handler: mux}))
	ref := httptest.NewServer(mux)
	t.Cleanup(ref.Close)
	do := func(c *http.Client, method, url string) (http.Header, string, error) {
		req, _ := http.NewRequest(method, url, nil)
		resp, err := c.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.Header, string(b), err
	}
	for name := range handlers {
		path := "/" + strings.ReplaceAll(name, " ", "-")
		// A response to HEAD gets the Content-Type the same request with
		// GET gets.
		for _, method := range []string{"GET", "HEAD"} {
			t.Run(method+" "+name, func(t *testing.T) {
				want, wantBody, err := do(ref.Client(), method, ref.URL+path)
				if err != nil {
					t.Fatal(err)
				}
				got, body, err := do(ipc, method, "http://lms"+path)
				if err != nil {
					t.Fatal(err)
				}
				if g, w := got["Content-Type"], want["Content-Type"]; !slices.Equal(g, w) {
					t.Errorf("Content-Type %q, net/http sends %q", g, w)
				}
				if body != wantBody {
					t.Errorf("content %q, net/http sends %q", body, wantBody)
				}
			})
		}
	}
}

// TestCompleteResponseMidUpload: a provider may answer before it has read
// the request content; the client then stops sending, and the response is
// the request's result even though the upload never ends.
func TestCompleteResponseMidUpload(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/early", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "early")
	})
	c := NewClient(startServer(t, &Server{Handler: mux}))
	pr, pw := io.Pipe()
	defer pw.Close()
	// More than the client sends inline, then nothing: the upload stalls.
	go pw.Write(make([]byte, 200<<10))
	done := make(chan string, 1)
	go func() {
		resp, err := c.Post("http://lms/early", "application/octet-stream", pr)
		if err != nil {
			done <- err.Error()
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- fmt.Sprintf("%d %s %v", resp.StatusCode, b, err)
	}()
	select {
	case got := <-done:
		if got != "202 early <nil>" {
			t.Fatalf("got %q, want the early response", got)
		}
	case <-time.After(time.Minute):
		t.Fatal("the client waited for the upload to end after the response was complete")
	}
	// The next request goes through on a fresh connection.
	resp, err := c.Get("http://lms/early")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// TestSlowRequestBodyClose: a request body whose Close blocks holds up
// neither the response nor the connection: the upload's writer closes the
// body after its last write, and the caller reads the response and the next
// request goes out meanwhile.
func TestSlowRequestBodyClose(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/count", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, n)
	})
	c := NewClient(startServer(t, &Server{Handler: mux}))
	release := make(chan struct{})
	defer close(release)
	// More than the client sends inline, so that a writer streams it.
	body := &slowCloser{Reader: bytes.NewReader(make([]byte, 200<<10)), release: release}
	done := make(chan string, 1)
	go func() {
		resp, err := c.Post("http://lms/count", "application/octet-stream", body)
		if err != nil {
			done <- err.Error()
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			var next *http.Response
			if next, err = c.Get("http://lms/count"); err == nil {
				next.Body.Close()
			}
		}
		done <- fmt.Sprintf("%d %s %v", resp.StatusCode, b, err)
	}()
	select {
	case got := <-done:
		if want := fmt.Sprintf("200 %d <nil>", 200<<10); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	case <-time.After(time.Minute):
		t.Fatal("reading the response waited for the request body's Close")
	}
}

// slowCloser is a request body whose Close returns once release is closed.
type slowCloser struct {
	io.Reader
	release chan struct{}
}

func (b *slowCloser) Close() error {
	<-b.release
	return nil
}

// TestInvalidResponseHead: a handler that sets a field the protocol cannot
// carry gets the provider's own 500 invalid-response in its place, and
// what it writes afterwards is dropped.
func TestInvalidResponseHead(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/bad", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Bad", "a\x01b")
		io.WriteString(w, "never sent")
	})
	resp, err := NewClient(startServer(t, &Server{Handler: mux})).Get("http://lms/bad")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || resp.Header.Get("Httpipc-Error") != "invalid-response" || strings.Contains(string(b), "never sent") {
		t.Fatalf("%d %v %q, want 500 invalid-response without the handler's body", resp.StatusCode, resp.Header, b)
	}
}
