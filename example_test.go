package httpipc_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/httpipc/httpipc"
)

// A provider serves its REST API, an ordinary http.Handler, over a Unix
// socket; a client calls it with an ordinary http.Client.
func Example() {
	dir, _ := os.MkdirTemp("", "httpipc")
	defer os.RemoveAll(dir)
	addr := "unix:" + filepath.Join(dir, "lms.sock")

	// Provider side.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		peer := httpipc.Peer(r) // who is calling, from the kernel
		fmt.Fprintf(w, "user %s, asked by my own user: %v", r.PathValue("id"), peer.UID == os.Getuid())
	})
	ln, err := httpipc.Listen(addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := &httpipc.Server{Handler: mux} // only callers of the same user
	go srv.Serve(ln)
	defer srv.Close()

	// Client side: the same code as online, with another client.
	c := httpipc.NewClient(addr)
	resp, err := c.Get("http://lms/users/42")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, string(body))
	// Output: 200 OK user 42, asked by my own user: true
}
