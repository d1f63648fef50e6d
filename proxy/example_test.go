package proxy_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/proxy"
)

// A client app runs the proxy and hands its base URL to a web view; the
// web view's requests reach the provider over IPC.
func Example() {
	// The provider app (here in-process, on a Unix socket).
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	service := "unix:" + filepath.Join(dir, "lms.sock")
	ln, err := httpipc.Listen(service)
	if err != nil {
		fmt.Println(err)
		return
	}
	api := http.NewServeMux()
	api.HandleFunc("GET /classes", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `["math-7b"]`)
	})
	provider := &httpipc.Server{Handler: api}
	go provider.Serve(ln)
	defer provider.Close()

	// The client app.
	p := &proxy.Proxy{Service: service, Secret: proxy.NewSecret()}
	pln, err := proxy.Listen("127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	go p.Serve(pln)
	defer p.Close()
	base := p.BaseURL(pln.Addr()) // http://127.0.0.1:PORT/SECRET: give this to the web view

	resp, err := http.Get(base + "/classes")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 ["math-7b"]
}
