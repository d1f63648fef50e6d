package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/httpipc/httpipc"
)

// call shows a redirect as its answer, as curl does; -L follows it within
// the provider, and never to another host.
func TestCallRedirects(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/new?x=1", http.StatusFound)
	})
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "new "+r.URL.RawQuery)
	})
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://elsewhere.example/new", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	addr := startGoProviderWith(t, func(s *httpipc.Server) { s.Handler = mux })

	code, out, errOut := runCLI("call", "-i", addr, "/old")
	if code != 0 || !strings.HasPrefix(out, "HTTP/1.1 302 Found\r\n") || !strings.Contains(out, "Location: /new?x=1\r\n") || strings.Contains(out, "new x=1") {
		t.Fatalf("call -i /old: exit %d (%s):\n%s", code, errOut, out)
	}
	if code, out, errOut := runCLI("call", "-L", addr, "/old"); code != 0 || out != "new x=1" {
		t.Fatalf("call -L /old: exit %d (%s): %q", code, errOut, out)
	}
	if code, out, errOut := runCLI("call", "-i", "-L", addr, "/away"); code != 0 || !strings.HasPrefix(out, "HTTP/1.1 301 ") ||
		!strings.Contains(errOut, "not following the redirect to another host") {
		t.Fatalf("call -L /away: exit %d (%s):\n%s", code, errOut, out)
	}
	if code, _, errOut := runCLI("call", "-L", addr, "/loop"); code != 1 || !strings.Contains(errOut, "stopped after 10 redirects") {
		t.Fatalf("call -L /loop: exit %d: %s", code, errOut)
	}
}

// serve forwards the caller's Accept-Encoding, or none: its transport adds
// no gzip of its own and decodes no answer.
func TestServeForwardsEncodingUntouched(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	io.WriteString(zw, "compressed by the upstream")
	zw.Close()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, strings.Join(r.Header.Values("Accept-Encoding"), ", "))
		mu.Unlock()
		// The upstream answers gzip whatever was asked, as some do.
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "text/plain")
		w.Write(gz.Bytes())
	}))
	defer up.Close()
	addr := startServe(t, up.URL)
	last := func() string {
		mu.Lock()
		defer mu.Unlock()
		return seen[len(seen)-1]
	}

	for _, tc := range []struct {
		name, acceptEncoding string
	}{
		{"none", ""},
		{"gzip", "gzip"},
		{"identity", "identity"},
		{"br and gzip", "br, gzip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"call", "-i"}
			if tc.acceptEncoding != "" {
				args = append(args, "-H", "Accept-Encoding: "+tc.acceptEncoding)
			}
			code, out, errOut := runCLI(append(args, addr, "/")...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if got := last(); got != tc.acceptEncoding {
				t.Errorf("the upstream saw Accept-Encoding %q, want %q", got, tc.acceptEncoding)
			}
			head, body, _ := strings.Cut(out, "\r\n\r\n")
			if !strings.Contains(head, "Content-Encoding: gzip\r\n") || body != gz.String() {
				t.Errorf("the gzip answer did not pass through as sent:\n%s", out)
			}
		})
	}
}

// login prints the token's expiry as an RFC 3339 time with its zone.
func TestLoginPrintsExpiryWithZone(t *testing.T) {
	zone := time.FixedZone("UTC+1", 3600)
	expiry := time.Date(2030, 1, 2, 0, 10, 0, 0, zone)
	var out bytes.Buffer
	if err := writeToken(&out, &oauth2.Token{AccessToken: "a", TokenType: "bearer", RefreshToken: "r", Expiry: expiry}, "org.example.lms"); err != nil {
		t.Fatal(err)
	}
	var printed map[string]string
	if err := json.Unmarshal(out.Bytes(), &printed); err != nil {
		t.Fatal(err)
	}
	if printed["expiry"] != "2030-01-02T00:10:00+01:00" || printed["ipc_service"] != "org.example.lms" || printed["refresh_token"] != "r" {
		t.Fatalf("login printed %s", out.String())
	}
	got, err := time.Parse(time.RFC3339, printed["expiry"])
	if err != nil || !got.Equal(expiry) {
		t.Fatalf("expiry %q: %v", printed["expiry"], err)
	}
}
