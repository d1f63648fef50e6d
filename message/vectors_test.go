package message

import (
	"context"
	"encoding/hex"
	"flag"
	"io"
	"net/http"
	"reflect"
	"testing"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/bhttp"
	"github.com/httpipc/httpipc/internal/golden"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json")

// vector is one message-mode exchange: the request message and the response
// message a provider running vectorHandler answers with.
type vector struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Mode is always "message": each request and response is held whole,
	// under RFC 9292's rules for whole messages (docs/PROTOCOL.md, 8a).
	Mode     string `json:"mode"`
	Request  string `json:"request"`
	Response string `json:"response"`
}

const vectorHandlerDoc = "GET /hello answers 200, content-type text/plain, body \"hello\\n\"; POST /echo answers 200, " +
	"content-type application/octet-stream, with the request body"

func vectorHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello\n")
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		io.Copy(w, r.Body)
	})
	return mux
}

func definedVectors() []vector {
	enc := func(r *bhttp.Request) string {
		b, err := bhttp.AppendRequest(nil, r)
		if err != nil {
			panic(err)
		}
		return hex.EncodeToString(b)
	}
	return []vector{
		{Name: "get", Description: "indeterminate-length GET; the response carries content-length, added by the adapter",
			Request: enc(&bhttp.Request{RequestHead: bhttp.RequestHead{Method: "GET", Scheme: "http", Authority: "lms", Path: "/hello"}})},
		{Name: "post", Description: "POST with content in one chunk",
			Request: enc(&bhttp.Request{RequestHead: bhttp.RequestHead{Method: "POST", Scheme: "http", Authority: "lms", Path: "/echo"}, Content: []byte("abcd")})},
		{Name: "known-length-truncated", Description: "known-length GET with content and trailer sections truncated (allowed in message mode)",
			Request: "00" + "03474554" + "0468747470" + "036c6d73" + "062f68656c6c6f" + "00"},
		{Name: "padded", Description: "a GET followed by zero padding (allowed in message mode)",
			Request: enc(&bhttp.Request{RequestHead: bhttp.RequestHead{Method: "GET", Scheme: "http", Authority: "lms", Path: "/hello"}}) + "00000000"},
		{Name: "malformed", Description: "a framing indicator that is not a request: 400 with httpipc-error malformed",
			Request: "03"},
	}
}

func TestVectors(t *testing.T) {
	const file = "testdata/vectors.json"
	srv := &Server{Handler: vectorHandler(), Policy: httpipc.AllowAny(), Logger: quiet()}
	defined := definedVectors()
	for i := range defined {
		defined[i].Description += ". Handler: " + vectorHandlerDoc
		defined[i].Mode = "message"
		req, _ := hex.DecodeString(defined[i].Request)
		defined[i].Response = hex.EncodeToString(srv.ServeMessage(context.Background(), selfCreds(), req))
	}
	stored := golden.Sync(t, file, defined, *update)
	if !reflect.DeepEqual(stored, defined) {
		t.Fatalf("%s differs from what the adapter produces: run go test ./message -run TestVectors -update and review the diff", file)
	}
}
