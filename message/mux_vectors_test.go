package message

import (
	"encoding/hex"
	"io"
	"net/http"
	"reflect"
	"sync"
	"testing"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/internal/golden"
	"github.com/httpipc/httpipc/peercred"
)

// muxVector records the messages of one exchange over streams over
// messages, one list per direction.
type muxVector struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	ToProvider  []string `json:"to_provider"`
	ToClient    []string `json:"to_client"`
}

type recordingLink struct {
	Link
	mu   *sync.Mutex
	sent *[]string
}

func (r recordingLink) Send(msg []byte) error {
	r.mu.Lock()
	*r.sent = append(*r.sent, hex.EncodeToString(msg))
	r.mu.Unlock()
	return r.Link.Send(msg)
}

func TestMuxVectors(t *testing.T) {
	const file = "testdata/mux-vectors.json"
	var mu sync.Mutex
	v := muxVector{Name: "get-16-byte-chunks",
		Description: "GET /hello (the message-mode vector handler) on stream 1 with 16-byte chunks: the client's stream " +
			"carries the client preface and the request, the provider's the server preface and the response; then the client " +
			"closes the stream (FIN)"}
	a, b := LinkPair(0)
	client := ClientMux(recordingLink{a, &mu, &v.ToProvider}, MuxOptions{ChunkSize: 16, Peer: peercred.Self()})
	server := ServerMux(recordingLink{b, &mu, &v.ToClient}, MuxOptions{ChunkSize: 16, Peer: peercred.Self()})
	srv := &httpipc.Server{Handler: vectorHandler(), Logger: quiet()}
	go srv.Serve(server)
	tr := &httpipc.Transport{DialContext: client.Open, MaxIdleConns: -1, Logger: quiet()}
	req, _ := http.NewRequest("GET", "http://lms/hello", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close() // closes the stream: FIN
	srv.Close()       // the provider's connection ends: FIN back
	client.Close()
	mu.Lock()
	defer mu.Unlock()
	// The provider's FIN may race with the closing of the link; keep the
	// deterministic part.
	for len(v.ToClient) > 0 && v.ToClient[len(v.ToClient)-1][:2] != "00" {
		v.ToClient = v.ToClient[:len(v.ToClient)-1]
	}
	stored := golden.Sync(t, file, []muxVector{v}, *update)
	if !reflect.DeepEqual(stored, []muxVector{v}) {
		t.Fatalf("%s differs from the exchange: run go test ./message -run TestMuxVectors -update and review", file)
	}
}
