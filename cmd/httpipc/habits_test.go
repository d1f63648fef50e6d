package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

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
