//go:build linux

package dbusipc

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/internal/testbus"
	"github.com/httpipc/httpipc/message"
)

const providerEnv = "HTTPIPC_TEST_DBUS_PROVIDER"

func TestMain(m *testing.M) {
	if name := os.Getenv(providerEnv); name != "" {
		// Started by the bus: serve until the bus goes away.
		conn, err := dbus.Connect(os.Getenv("DBUS_STARTER_ADDRESS"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "provider:", err)
			os.Exit(1)
		}
		p := newProvider()
		if err := p.Serve(context.Background(), conn, name); err != nil {
			fmt.Fprintln(os.Stderr, "provider:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func api() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/who", func(w http.ResponseWriter, r *http.Request) {
		p := httpipc.Peer(r)
		fmt.Fprintf(w, "%d %d %d", os.Getpid(), p.UID, p.PID)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 32<<10)
		for i := 0; i < 128; i++ { // 4 MiB
			w.Write(buf)
		}
	})
	return mux
}

func newProvider() *Provider {
	return &Provider{
		Messages: &message.Server{Handler: api(), Logger: quiet()},
		Streams:  &httpipc.Server{Handler: api(), Logger: quiet()},
	}
}

// startBus runs a private bus that starts this test binary as
// org.httpipc.Activated.
func startBus(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return testbus.Start(t, map[string]string{"org.httpipc.Activated": exe}, providerEnv+"=org.httpipc.Activated")
}

func connect(t *testing.T, addr string) *dbus.Conn {
	t.Helper()
	c, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func get(t *testing.T, c *http.Client, path string) string {
	t.Helper()
	resp, err := c.Get("http://lms" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestProviderOnBus(t *testing.T) {
	addr := startBus(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- newProvider().Serve(ctx, connect(t, addr), "org.httpipc.InProcess") }()

	client := &Client{Conn: connect(t, addr), Name: "org.httpipc.InProcess"}
	// Wait, within a bound, until the provider owns its name.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var owner string
		if client.Conn.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, client.Name).Store(&owner) == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("provider never owned its name")
		}
		select {
		case err := <-served:
			t.Fatalf("provider stopped: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	want := fmt.Sprintf("%d %d %d", os.Getpid(), os.Getuid(), os.Getpid())

	// Message mode over method calls.
	mc := &http.Client{Transport: &message.Transport{Channel: client}}
	if got := get(t, mc, "/who"); got != want {
		t.Fatalf("message mode: %q, want %q", got, want)
	}
	// Descriptor handoff: the stream protocol over a socketpair.
	sc := &http.Client{Transport: &httpipc.Transport{DialContext: client.Dial, Logger: quiet()}}
	if got := get(t, sc, "/who"); got != want {
		t.Fatalf("descriptor handoff: %q, want %q", got, want)
	}
	if got := get(t, sc, "/big"); len(got) != 4<<20 {
		t.Fatalf("descriptor handoff: %d bytes", len(got))
	}
	// A second provider cannot take the name.
	if err := newProvider().Serve(ctx, connect(t, addr), "org.httpipc.InProcess"); err == nil {
		t.Fatal("a second provider took the name")
	}
}

func TestBusActivation(t *testing.T) {
	addr := startBus(t)
	client := &Client{Conn: connect(t, addr), Name: "org.httpipc.Activated"}
	mc := &http.Client{Transport: &message.Transport{Channel: client}}
	// Nothing runs yet: the call makes the bus start the provider.
	got := get(t, mc, "/who")
	f := strings.Fields(got)
	if len(f) != 3 || f[0] == strconv.Itoa(os.Getpid()) || f[1] != strconv.Itoa(os.Getuid()) {
		t.Fatalf("activated provider answered %q", got)
	}
	sc := &http.Client{Transport: &httpipc.Transport{DialContext: client.Dial, Logger: quiet()}}
	if again := strings.Fields(get(t, sc, "/who")); again[0] != f[0] {
		t.Fatalf("a second provider process answered: %v vs %v", again, f)
	}
}
