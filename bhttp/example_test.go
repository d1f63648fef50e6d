package bhttp_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"

	"github.com/httpipc/httpipc/bhttp"
)

func Example() {
	// Encode a request whose content is produced in two chunks.
	b, _ := bhttp.AppendRequestHead(nil, &bhttp.RequestHead{
		Method: "POST", Scheme: "http", Authority: "lms", Path: "/xapi/statements",
		Header: http.Header{"Content-Type": {"application/json"}},
	})
	b = bhttp.AppendChunk(b, []byte(`{"verb":`))
	b = bhttp.AppendChunk(b, []byte(`"completed"}`))
	b, _ = bhttp.AppendEnd(b, nil)

	// Decode it from a stream.
	r := bhttp.NewReader(bufio.NewReader(bytes.NewReader(b)), bhttp.Limits{})
	head, err := r.ReadRequestHead()
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(r)
	fmt.Println(head.Method, head.Path, head.Header.Get("Content-Type"))
	fmt.Println(string(body))
	// Output:
	// POST /xapi/statements application/json
	// {"verb":"completed"}
}
