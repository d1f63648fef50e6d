package proxy_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
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

	// The client app. Only this user's processes are admitted (on Linux; a
	// secret elsewhere); the secret set here is required in addition.
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

// A web view's pages are reached through a one-time launch URL: the first
// request for it gets a session cookie, which every later request needs, so
// no other program that learns the proxy's port (or even the launch URL,
// once used) gets in.
func ExampleProxy_LaunchURL() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	service := "unix:" + filepath.Join(dir, "lms.sock")
	ln, err := httpipc.Listen(service)
	if err != nil {
		fmt.Println(err)
		return
	}
	provider := &httpipc.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "lesson page at ", r.URL.Path)
	})}
	go provider.Serve(ln)
	defer provider.Close()

	p := &proxy.Proxy{Service: service, BrowserSessions: true}
	pln, err := proxy.Listen("127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	go p.Serve(pln)
	defer p.Close()
	launch, err := p.LaunchURL(pln.Addr(), "/lesson/index.html")
	if err != nil {
		fmt.Println(err)
		return
	}

	// The web view (here a client with a cookie jar) opens it.
	jar, _ := cookiejar.New(nil)
	webView := &http.Client{Jar: jar}
	for range 2 {
		resp, err := webView.Get(launch)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Print(resp.StatusCode, " ", string(body))
		if resp.StatusCode == 200 {
			fmt.Println()
		}
	}
	// Output:
	// 200 lesson page at /lesson/index.html
	// 403 httpipc proxy: this launch link was already used or has expired; start again from the app
}
