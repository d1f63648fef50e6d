//go:build unix

package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/dbusipc"
	"github.com/httpipc/httpipc/internal/testbus"
	"github.com/httpipc/httpipc/message"
)

// busName is the name the benchmark provider owns on the private bus.
const busName = "org.httpipc.Bench"

// The bare godbus contender: the provider exports benchIface at benchPath
// (next to dbusipc's object, on the same connection); a client that
// downloads exports sinkIface at sinkPath.
const (
	benchPath  = dbus.ObjectPath("/org/httpipc/Bench")
	benchIface = "org.httpipc.Bench"
	sinkPath   = dbus.ObjectPath("/org/httpipc/BenchSink")
	sinkIface  = "org.httpipc.BenchSink"
	// chunkSize is the ay of each one-way call of a download, the size
	// of the frames of httpipc's links (message.DefaultChunkSize).
	chunkSize = 16 << 10
)

func noBusReason() error { return testbus.ErrNoDaemon }

// startBus runs a private bus for the D-Bus contenders and returns its
// address; none when dbus-daemon is not installed, and those contenders are
// left out.
func startBus() (addr string, stop func(), err error) {
	b, err := testbus.Launch(nil)
	if errors.Is(err, testbus.ErrNoDaemon) {
		return "", func() {}, nil
	}
	if err != nil {
		return "", nil, err
	}
	return b.Addr, b.Close, nil
}

// serveBus makes the provider process serve on the bus named by busEnv.
func serveBus() (string, error) {
	addr := os.Getenv(busEnv)
	if addr == "" {
		return "", nil
	}
	conn, err := dbus.Connect(addr)
	if err != nil {
		return "", err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := &dbusipc.Provider{
		Messages: &message.Server{Handler: Handler(), Logger: quiet},
		Streams:  &httpipc.Server{Handler: Handler(), Logger: quiet},
	}
	chunk := make([]byte, chunkSize)
	bare := map[string]any{
		// Echo answers its argument.
		"Echo": func(b []byte) ([]byte, *dbus.Error) { return b, nil },
		// Download sends n bytes to the caller's sink as one-way calls
		// of chunkSize bytes, then answers.
		"Download": func(sender dbus.Sender, n uint64) *dbus.Error {
			sink := conn.Object(string(sender), sinkPath)
			for n > 0 {
				k := min(n, uint64(len(chunk)))
				if c := sink.Go(sinkIface+".Chunk", dbus.FlagNoReplyExpected, nil, chunk[:k]); c.Err != nil {
					return dbus.MakeFailedError(c.Err)
				}
				n -= k
			}
			return nil
		},
	}
	if err := conn.ExportMethodTable(bare, benchPath, benchIface); err != nil {
		return "", err
	}
	errc := make(chan error, 1)
	go func() { errc <- p.Serve(context.Background(), conn, busName) }()
	// Serve owns the name before it serves: wait for either.
	for {
		var owner string
		if conn.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, busName).Store(&owner) == nil {
			return busName, nil
		}
		select {
		case err := <-errc:
			return "", fmt.Errorf("serving on the bus: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
}

// dbusContenders returns the clients that reach the provider over the bus,
// and the operations of the bare godbus contender.
func dbusContenders(ctx context.Context, addr, name string) (map[string]*http.Client, func(int, bool) func() error, func(), error) {
	conn, err := dbus.Connect(addr)
	if err != nil {
		return nil, nil, nil, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	c := &dbusipc.Client{Conn: conn, Name: name}
	mux, err := c.Mux(ctx, message.MuxOptions{})
	if err != nil {
		conn.Close()
		return nil, nil, nil, err
	}
	bare, err := newBareDBus(addr, name)
	if err != nil {
		mux.Close()
		conn.Close()
		return nil, nil, nil, err
	}
	clients := map[string]*http.Client{
		MessageDBus:  {Transport: &message.Transport{Channel: c}},
		DBusMessages: {Transport: &httpipc.Transport{DialContext: mux.Open, Logger: quiet, MaxIdleConns: 128}},
		DBusFD:       {Transport: &httpipc.Transport{DialContext: c.Dial, Logger: quiet, MaxIdleConns: 128}},
	}
	return clients, bare.op, func() {
		mux.Close()
		conn.Close()
		bare.conn.Close()
	}, nil
}

// bareDBus is the godbus contender, on a bus connection of its own.
type bareDBus struct {
	conn *dbus.Conn
	obj  dbus.BusObject
	got  chan int // sizes of the chunks received
}

func newBareDBus(addr, name string) (*bareDBus, error) {
	conn, err := dbus.Connect(addr)
	if err != nil {
		return nil, err
	}
	var owner string
	if err := conn.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, name).Store(&owner); err != nil {
		conn.Close()
		return nil, err
	}
	b := &bareDBus{conn: conn, obj: conn.Object(owner, benchPath), got: make(chan int, 4096)}
	sink := map[string]any{
		"Chunk": func(msg []byte) *dbus.Error {
			b.got <- len(msg)
			return nil
		},
	}
	if err := conn.ExportMethodTable(sink, sinkPath, sinkIface); err != nil {
		conn.Close()
		return nil, err
	}
	return b, nil
}

// op is one echo of size bytes (a method call with reply), or a download
// of size bytes as one-way calls, done when the last byte has arrived.
func (b *bareDBus) op(size int, stream bool) func() error {
	payload := make([]byte, size)
	return func() error {
		if !stream {
			var out []byte
			if err := b.obj.Call(benchIface+".Echo", 0, payload).Store(&out); err != nil {
				return err
			}
			if len(out) != size {
				return fmt.Errorf("echoed %d bytes, want %d", len(out), size)
			}
			return nil
		}
		done := make(chan *dbus.Call, 1)
		call := b.obj.Go(benchIface+".Download", 0, done, uint64(size))
		for left := size; left > 0; {
			select {
			case n := <-b.got:
				left -= n
			case <-done:
				if call.Err != nil {
					return call.Err
				}
				done = nil // answered; chunks may still be on their way
			case <-b.conn.Context().Done():
				return b.conn.Context().Err()
			}
		}
		if done != nil {
			<-done
		}
		return call.Err
	}
}
