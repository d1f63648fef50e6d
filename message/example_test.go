package message_test

import (
	"fmt"
	"io"
	"net/http"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/message"
)

// The provider's host code hands each incoming message to ServeMessage and
// sends back what it returns; the client uses an ordinary http.Client.
func Example() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /classes", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `["math-7b"]`)
	})
	srv := &message.Server{Handler: mux, Policy: httpipc.SameUser()}

	// Here the channel is in-process; on Android it is a bound service, on
	// iOS an XPC connection, on Linux a SOCK_SEQPACKET socket or D-Bus.
	c := &http.Client{Transport: &message.Transport{Channel: message.Local(srv, 64<<10)}}
	resp, err := c.Get("http://lms/classes")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, resp.ContentLength, string(b))
	// Output: 200 OK 11 ["math-7b"]
}
