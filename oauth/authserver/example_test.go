package authserver_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/oauth/authserver"
	"github.com/httpipc/httpipc/oauth/bearer"
)

// The LMS app is both the authorization app and the API provider: it
// registers the math app, serves the OAuth endpoints and its API on one
// ipc-service, and guards the API with bearer tokens.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "lms")
	defer os.RemoveAll(dir)

	store, err := authserver.Open(filepath.Join(dir, "auth.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	err = store.AddClient(ctx, authserver.Client{
		ID:           "org.example.math",
		Name:         "Math Lesson",
		RedirectURIs: []string{"org.example.math:/oauth/callback"},
		Scopes:       []string{"roster.read"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv, err := authserver.New(ctx, store, authserver.Options{
		Issuer:     "https://lms.example",
		IPCService: "org.example.lms", // sent to clients in the redirect
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/", srv) // /oauth/authorize, /oauth/token, /oauth/revoke, metadata
	mux.Handle("/api/", bearer.Require(srv, "roster.read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := bearer.FromContext(r.Context())
		fmt.Fprintf(w, "classes of %s", tok.Subject)
	})))

	ln, err := httpipc.Listen("unix:" + filepath.Join(dir, "lms.sock"))
	if err != nil {
		fmt.Println(err)
		return
	}
	// This user and the uids of registered clients may connect.
	go (&httpipc.Server{Handler: mux, Policy: store.ClientPolicy()}).Serve(ln)

	resp, err := httpipc.NewClient("unix:" + filepath.Join(dir, "lms.sock")).Get("https://lms.example/api/classes")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	// Output: 401 Bearer realm="httpipc"
}
