//go:build unix

package dbusipc_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/godbus/dbus/v5"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/dbusipc"
	"github.com/httpipc/httpipc/message"
)

// A provider owns a name on the session bus; a client reaches it by name,
// and the bus starts the provider on demand when a .service file names it.
// (Not run: it needs a session bus.)
func Example() {
	api := http.NewServeMux()
	api.HandleFunc("GET /classes", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `["math-7b"]`)
	})

	// Provider process.
	go func() {
		bus, err := dbus.ConnectSessionBus()
		if err != nil {
			return
		}
		p := &dbusipc.Provider{
			Messages: &message.Server{Handler: api},
			Streams:  &httpipc.Server{Handler: api},
		}
		p.Serve(context.Background(), bus, "org.example.LMS")
	}()

	// Client process: small calls as method calls, a socket handed over,
	// or streams over messages where descriptors cannot pass.
	bus, err := dbus.ConnectSessionBus()
	if err != nil {
		fmt.Println(err)
		return
	}
	c := &dbusipc.Client{Conn: bus, Name: "org.example.LMS"}
	viaMessages := &http.Client{Transport: &message.Transport{Channel: c}}
	viaSocket := &http.Client{Transport: &httpipc.Transport{DialContext: c.Dial}}
	_, _ = viaMessages.Get("http://lms/classes")
	_, _ = viaSocket.Get("http://lms/classes")
	if mux, err := c.Mux(context.Background(), message.MuxOptions{}); err == nil {
		defer mux.Close()
		viaLink := &http.Client{Transport: &httpipc.Transport{DialContext: mux.Open}}
		_, _ = viaLink.Get("http://lms/classes")
	}
}
