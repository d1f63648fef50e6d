package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/internal/testprog"
	"github.com/httpipc/httpipc/internal/testwait"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// api is the provider's API in these tests.
func api(cancelled chan<- string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/headers", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "path=%s host=%s forwarded=%s secret=%q", r.URL.Path, r.Host, r.Header.Get("Forwarded"), r.Header.Get(SecretHeader))
	})
	mux.HandleFunc("POST /sum", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		fmt.Fprintf(w, "%d %x", n, h.Sum(nil))
	})
	mux.HandleFunc("GET /zeros", func(w http.ResponseWriter, r *http.Request) {
		var n int64
		fmt.Sscan(r.URL.Query().Get("n"), &n)
		io.Copy(w, io.LimitReader(zeros{}, n))
	})
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: one\n\n")
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	})
	mux.HandleFunc("/lesson.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Access-Control-Allow-Origin", "*") // the proxy decides, not this
		http.ServeContent(w, r, "lesson.txt", time.Unix(1700000000, 0), strings.NewReader("0123456789"))
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		cancelled <- "started"
		<-r.Context().Done()
		cancelled <- "cancelled"
	})
	return mux
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// provider serves api over a Unix socket and returns its address.
func provider(t *testing.T, cancelled chan<- string) string {
	t.Helper()
	return providerFor(t, api(cancelled))
}

// providerFor serves h over a Unix socket and returns its address.
func providerFor(t testing.TB, h http.Handler) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "px")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	addr := "unix:" + filepath.Join(dir, "p.sock")
	ln, err := httpipc.Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &httpipc.Server{Handler: h, Logger: quiet()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return addr
}

// start runs p on a free loopback port and returns its base URL.
func start(t *testing.T, p *Proxy) string {
	t.Helper()
	if p.Logger == nil {
		p.Logger = quiet()
	}
	ln, err := Listen("")
	if err != nil {
		t.Fatal(err)
	}
	go p.Serve(ln)
	t.Cleanup(func() { p.Close() })
	return p.BaseURL(ln.Addr())
}

// do sends req and reads the answer, within a minute.
func do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(req.Context(), time.Minute)
	defer cancel()
	resp, err := http.DefaultTransport.RoundTrip(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestForward(t *testing.T) {
	base := start(t, &Proxy{Service: provider(t, nil)})
	host := strings.TrimPrefix(base, "http://")
	c := &http.Client{}

	t.Run("headers", func(t *testing.T) {
		req, _ := http.NewRequest("GET", base+"/headers", nil)
		_, body := do(t, req)
		want := fmt.Sprintf(`path=/headers host=%s forwarded=for="127.0.0.1:`, host)
		if !strings.HasPrefix(body, want) || !strings.Contains(body, `;host="`+host+`";proto=http`) {
			t.Fatalf("got %s", body)
		}
	})
	t.Run("upload streams", func(t *testing.T) {
		const n = 64 << 20
		resp, err := c.Post(base+"/sum", "application/octet-stream", io.LimitReader(zeros{}, n))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		sum := sha256.Sum256(make([]byte, n))
		if want := fmt.Sprintf("%d %x", n, sum); string(b) != want {
			t.Fatalf("got %s", b)
		}
	})
	t.Run("download streams", func(t *testing.T) {
		const n = 64 << 20
		resp, err := c.Get(fmt.Sprintf("%s/zeros?n=%d", base, n))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || got != n {
			t.Fatalf("%d bytes, %v", got, err)
		}
	})
	t.Run("events flushed as they come", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/events", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		// The handler has not returned: this line arrives only if flushed.
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		if err != nil || line != "data: one\n" {
			t.Fatalf("got %q, %v", line, err)
		}
	})
	for _, tc := range []struct {
		name   string
		header [2]string
		status int
		body   string
	}{
		{"range", [2]string{"Range", "bytes=2-4"}, http.StatusPartialContent, "234"},
		{"conditional", [2]string{"If-None-Match", `"v1"`}, http.StatusNotModified, ""},
		{"plain", [2]string{"Accept", "*/*"}, http.StatusOK, "0123456789"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", base+"/lesson.txt", nil)
			req.Header.Set(tc.header[0], tc.header[1])
			resp, body := do(t, req)
			if resp.StatusCode != tc.status || body != tc.body {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
			if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
				t.Fatalf("the provider's CORS header came through: %q", v)
			}
		})
	}
}

func TestGuard(t *testing.T) {
	const app = "https://appassets.androidplatform.net"
	base := start(t, &Proxy{Service: provider(t, nil), AllowOrigins: []string{app}})
	host := strings.TrimPrefix(base, "http://")
	port := host[strings.LastIndexByte(host, ':')+1:]
	for _, tc := range []struct {
		name    string
		method  string
		host    string
		headers map[string]string
		status  int
		check   map[string]string // response headers
		reason  string            // in the body of a refusal
	}{
		{name: "own host", status: 200},
		{name: "localhost", host: "localhost:" + port, status: 200},
		{name: "rebinding", host: "evil.example:" + port, status: 421, reason: "is not this proxy's address"},
		{name: "other port", host: "127.0.0.1:1", status: 421, reason: "is not this proxy's address"},
		{name: "own origin", headers: map[string]string{"Origin": "http://" + host}, status: 200,
			check: map[string]string{"Access-Control-Allow-Origin": ""}},
		{name: "allowed origin", headers: map[string]string{"Origin": app}, status: 200,
			check: map[string]string{"Access-Control-Allow-Origin": app, "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}},
		{name: "foreign origin", headers: map[string]string{"Origin": "https://evil.example"}, status: 403, reason: "cross-origin request from https://evil.example refused"},
		{name: "null origin", headers: map[string]string{"Origin": "null"}, status: 403, reason: "not an allowed origin"},
		{name: "no-cors from another site", headers: map[string]string{"Sec-Fetch-Site": "cross-site"}, status: 403, reason: "another site"},
		{name: "same origin fetch", headers: map[string]string{"Sec-Fetch-Site": "same-origin"}, status: 200},
		{name: "preflight allowed", method: "OPTIONS", status: 204,
			headers: map[string]string{"Origin": app, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "authorization, content-type", "Access-Control-Request-Private-Network": "true"},
			check:   map[string]string{"Access-Control-Allow-Origin": app, "Access-Control-Allow-Methods": "PUT", "Access-Control-Allow-Headers": "authorization, content-type", "Access-Control-Allow-Private-Network": "true"}},
		{name: "preflight foreign", method: "OPTIONS", status: 403,
			headers: map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "PUT"}, reason: "refused"},
		{name: "websocket", headers: map[string]string{"Connection": "Upgrade", "Upgrade": "websocket"}, status: 501, reason: "protocol upgrade to websocket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = "GET"
			}
			req, _ := http.NewRequest(method, base+"/headers", nil)
			if tc.host != "" {
				req.Host = tc.host
			}
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			resp, body := do(t, req)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			for k, v := range tc.check {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if tc.reason != "" && (!strings.Contains(body, tc.reason) || strings.Count(body, "\n") != 1) {
				t.Errorf("refusal %q, want one line with %q", body, tc.reason)
			}
		})
	}
}

func TestSecret(t *testing.T) {
	p := &Proxy{Service: provider(t, nil), Secret: NewSecret()}
	base := start(t, p)
	if !strings.HasSuffix(base, "/"+p.Secret) {
		t.Fatalf("base URL %s lacks the secret", base)
	}
	root := strings.TrimSuffix(base, "/"+p.Secret)
	for _, tc := range []struct {
		name   string
		url    string
		header string
		status int
		path   string
	}{
		{"in the path", base + "/headers", "", 200, "path=/headers "},
		{"in the header", root + "/headers", p.Secret, 200, `path=/headers `},
		{"missing", root + "/headers", "", 403, ""},
		{"wrong", root + "/x" + p.Secret + "/headers", "", 403, ""},
		{"wrong header", root + "/headers", "nope", 403, ""},
		{"cross-site no-cors with it", base + "/headers", "", 200, "path=/headers "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", tc.url, nil)
			if tc.header != "" {
				req.Header.Set(SecretHeader, tc.header)
			}
			if strings.HasPrefix(tc.name, "cross-site") {
				req.Header.Set("Sec-Fetch-Site", "cross-site")
			}
			resp, body := do(t, req)
			if resp.StatusCode != tc.status || !strings.HasPrefix(body, tc.path) {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
			if strings.Contains(body, p.Secret) {
				t.Fatalf("the secret reached the provider: %s", body)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	cancelled := make(chan string, 2)
	addr := provider(t, cancelled)

	t.Run("provider unreachable", func(t *testing.T) {
		base := start(t, &Proxy{Service: "unix:" + filepath.Join(t.TempDir(), "none.sock")})
		req, _ := http.NewRequest("GET", base+"/headers", nil)
		resp, body := do(t, req)
		var pr Problem
		if resp.StatusCode != 502 || resp.Header.Get("Content-Type") != "application/problem+json" || json.Unmarshal([]byte(body), &pr) != nil || pr.Status != 502 || pr.Detail == "" {
			t.Fatalf("got %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		base := start(t, &Proxy{Service: addr, Timeout: 50 * time.Millisecond})
		req, _ := http.NewRequest("GET", base+"/hang", nil)
		resp, body := do(t, req)
		if resp.StatusCode != 504 || !strings.Contains(body, `"status":504`) {
			t.Fatalf("got %d %s", resp.StatusCode, body)
		}
		a := testwait.Recv(t, cancelled, 10*time.Second, "the provider's request starting")
		if b := testwait.Recv(t, cancelled, 10*time.Second, "the provider's request ending"); a != "started" || b != "cancelled" {
			t.Fatal(a, b)
		}
	})
	t.Run("client hangs up", func(t *testing.T) {
		base := start(t, &Proxy{Service: addr})
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/hang", nil)
		errc := make(chan error, 1)
		go func() {
			_, err := http.DefaultClient.Do(req)
			errc <- err
		}()
		if got := testwait.Recv(t, cancelled, 10*time.Second, "the provider's request starting"); got != "started" {
			t.Fatal(got)
		}
		// The provider's handler ends only when its request is cancelled.
		cancel()
		if err := testwait.Recv(t, errc, 10*time.Second, "the cancelled request returning"); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
		select {
		case got := <-cancelled:
			if got != "cancelled" {
				t.Fatal(got)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the provider's request was not cancelled")
		}
	})
}

func TestListen(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"", true},
		{"127.0.0.1:0", true},
		{"localhost:0", true},
		{"[::1]:0", true},
		{"0.0.0.0:0", false},
		{"192.0.2.1:80", false},
		{"nonsense", false},
		{"unix:" + filepath.Join(t.TempDir(), "p.sock"), true},
	} {
		ln, err := Listen(tc.addr)
		if (err == nil) != tc.ok {
			if strings.HasPrefix(tc.addr, "[::1]") && err != nil && !errors.Is(err, net.ErrClosed) && os.Getenv(testprog.IPv6) == "" {
				continue // no IPv6 loopback on this machine (see testprog.IPv6)
			}
			t.Errorf("%q: %v", tc.addr, err)
		}
		if ln != nil {
			ln.Close()
		}
	}
}

// Requests through a Unix socket skip the Host check (no browser reaches it);
// the user check admits this process's user by its peer credentials.
func TestUnixListener(t *testing.T) {
	p := &Proxy{Service: provider(t, nil), Logger: quiet()}
	path := filepath.Join(t.TempDir(), "proxy.sock")
	ln, err := Listen("unix:" + path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket file: %v %v, want mode 0600", fi.Mode(), err)
	}
	go p.Serve(ln)
	defer p.Close()
	if base := p.BaseURL(ln.Addr()); base != "http://localhost" {
		t.Errorf("base URL %s: no secret is needed where the peer's user is known", base)
	}
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	resp, err := c.Get("http://anything/headers")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.HasPrefix(b, []byte("path=/headers host=anything")) {
		t.Fatalf("got %d %s", resp.StatusCode, b)
	}
}

func textLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestFullDuplex: a provider that answers while the request body is still
// coming (an echo that writes each piece back as it reads it) gets the
// whole body through the proxy, and the client the whole answer, for a body
// of unknown length far larger than any buffer on the way. Without full
// duplex, net/http's HTTP/1 server discards 256 KiB + 1 of a request body
// still unread when the response starts, and the handler reads on past the
// gap: the echo came back 262145 bytes short, with status 200 and no error.
func TestFullDuplex(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 16<<10)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return
				}
				w.(http.Flusher).Flush()
			}
			if err != nil {
				if err != io.EOF {
					panic(http.ErrAbortHandler) // the client must see the failure
				}
				return
			}
		}
	})
	base := start(t, &Proxy{Service: providerFor(t, echo)})
	const size = 8 << 20
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(i * 7)
	}
	pr, pw := io.Pipe()
	go func() {
		// Written in pieces, each after the answer to the previous one
		// began to arrive, so that the exchange is really full duplex.
		for off := 0; off < size; off += 64 << 10 {
			if _, err := pw.Write(body[off : off+64<<10]); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", base+"/echo", pr)
	resp, got := do(t, req)
	if resp.StatusCode != 200 || len(got) != size || got != string(body) {
		t.Fatalf("status %d, %d bytes echoed of %d (equal: %v)", resp.StatusCode, len(got), size, got == string(body))
	}
}
