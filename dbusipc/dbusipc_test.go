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
	"sync/atomic"
	"syscall"
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
	var hanging atomic.Int64
	mux := http.NewServeMux()
	// /hang answers its header, then holds the request until it ends.
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		hanging.Add(1)
		defer hanging.Add(-1)
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	})
	mux.HandleFunc("/hanging", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, hanging.Load())
	})
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
	h := api()
	return &Provider{
		Messages: &message.Server{Handler: h, Logger: quiet()},
		Streams:  &httpipc.Server{Handler: h, Logger: quiet()},
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
	// Streams over messages: one-way method calls both ways.
	lc, mux := linkClient(t, client)
	if got := get(t, lc, "/who"); got != want {
		t.Fatalf("streams over messages: %q, want %q", got, want)
	}
	if got := get(t, lc, "/big"); len(got) != 4<<20 {
		t.Fatalf("streams over messages: %d bytes", len(got))
	}
	mux.Close()
	// The provider forgets a closed link: another one opens in its place.
	lc, _ = linkClient(t, client)
	if got := get(t, lc, "/who"); got != want {
		t.Fatalf("second link: %q, want %q", got, want)
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

// linkClient opens a link to the provider and an HTTP client over it.
func linkClient(t *testing.T, c *Client) (*http.Client, *message.Mux) {
	t.Helper()
	mux, err := c.Mux(context.Background(), message.MuxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mux.Close() })
	return &http.Client{Transport: &httpipc.Transport{DialContext: mux.Open, Logger: quiet()}}, mux
}

// A provider that dies with requests in flight fails them on every path:
// the bus answers a pending method call with an error, the handed-over
// socket reaches end of file, and a link sees NameOwnerChanged.
func TestProviderVanishes(t *testing.T) {
	addr := startBus(t)
	client := &Client{Conn: connect(t, addr), Name: "org.httpipc.Activated"}
	sc := &http.Client{Transport: &httpipc.Transport{DialContext: client.Dial, Logger: quiet()}}
	pid, err := strconv.Atoi(strings.Fields(get(t, sc, "/who"))[0])
	if err != nil {
		t.Fatal(err)
	}
	lc, _ := linkClient(t, client)
	mc := &http.Client{Transport: &message.Transport{Channel: client}}

	paths := map[string]*http.Client{"message mode": mc, "descriptor handoff": sc, "streams over messages": lc}
	errs := make(chan error, len(paths))
	for name, c := range paths {
		go func() {
			resp, err := c.Get("http://lms/hang")
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if err == nil {
				err = fmt.Errorf("%s: the request succeeded", name)
			}
			errs <- fmt.Errorf("%s: %w", name, err)
		}()
	}
	// Wait, within a bound, until the provider holds all three.
	deadline := time.Now().Add(20 * time.Second)
	for get(t, sc, "/hanging") != strconv.Itoa(len(paths)) {
		if time.Now().After(deadline) {
			select {
			case err := <-errs:
				t.Fatalf("the provider never held all requests: %v", err)
			default:
			}
			t.Fatalf("the provider never held all requests: it holds %s", get(t, sc, "/hanging"))
		}
		time.Sleep(5 * time.Millisecond) // polling a remote count, not synchronizing
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	guard := time.After(30 * time.Second)
	for range paths {
		select {
		case err := <-errs:
			if strings.Contains(err.Error(), "the request succeeded") {
				t.Error(err)
			}
			t.Log(err)
		case <-guard:
			t.Fatal("requests in flight still wait after the provider died")
		}
	}
}
