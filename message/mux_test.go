package message

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/internal/testwait"
	"github.com/httpipc/httpipc/peercred"
)

// muxPair serves handler over streams on an in-process link and returns a
// client for it. wrap may interfere with what the client sends.
func muxPair(t *testing.T, handler http.Handler, wrap func(Link) Link) (*http.Client, *Mux) {
	t.Helper()
	a, b := LinkPair(0)
	if wrap != nil {
		a = wrap(a)
	}
	self := peercred.Self()
	server := ServerMux(b, MuxOptions{Peer: self})
	client := ClientMux(a, MuxOptions{Peer: self})
	srv := &httpipc.Server{Handler: handler, Logger: quiet()}
	go srv.Serve(server)
	t.Cleanup(func() {
		client.Close()
		srv.Close()
	})
	tr := &httpipc.Transport{DialContext: client.Open, Logger: quiet()}
	return &http.Client{Transport: tr}, client
}

func streamHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /sum", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		fmt.Fprintf(w, "%d %x", n, h.Sum(nil))
	})
	mux.HandleFunc("GET /big", func(w http.ResponseWriter, r *http.Request) {
		buf := bytes.Repeat([]byte("z"), 32<<10)
		for i := 0; i < 64; i++ { // 2 MiB
			w.Write(buf)
		}
	})
	mux.HandleFunc("GET /peer", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, httpipc.Peer(r).UID)
	})
	mux.HandleFunc("GET /wait", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	return mux
}

func TestStreamsOverMessages(t *testing.T) {
	c, _ := muxPair(t, streamHandler(), nil)
	big := bytes.Repeat([]byte("0123456789"), 300000) // 3 MB, far over one message
	sum := sha256.Sum256(big)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			resp, err := c.Post("http://lms/sum", "application/octet-stream", io.MultiReader(bytes.NewReader(big)))
			if err != nil {
				errs <- err
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := fmt.Sprintf("%d %x", len(big), sum); string(b) != want {
				errs <- fmt.Errorf("upload: got %q", b)
			}
		}()
		go func() {
			defer wg.Done()
			resp, err := c.Get("http://lms/big")
			if err != nil {
				errs <- err
				return
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || n != 2<<20 {
				errs <- fmt.Errorf("download: %d bytes, %v", n, err)
			}
		}()
	}
	testwait.Wait(t, &wg, 2*time.Minute, "the uploads and downloads")
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	resp, err := c.Get("http://lms/peer")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != fmt.Sprint(peercred.Self().UID) {
		t.Fatalf("peer %q", b)
	}
}

func TestStreamCancel(t *testing.T) {
	c, _ := muxPair(t, streamHandler(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://lms/wait", nil)
	if _, err := c.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	// The channel is still usable.
	if resp, err := c.Get("http://lms/peer"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
}

// faultyLink drops, duplicates or swaps the client's data frames number n
// on the first stream.
type faultyLink struct {
	Link
	mu    sync.Mutex
	n     int
	count int
	fault string
	held  []byte
}

func (f *faultyLink) Send(msg []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	typ, id, _, _, err := parseFrame(msg)
	if err != nil || typ != frameData || id != 1 {
		return f.Link.Send(msg)
	}
	f.count++
	if f.count != f.n {
		if f.held != nil {
			if err := f.Link.Send(msg); err != nil {
				return err
			}
			held := f.held
			f.held = nil
			return f.Link.Send(held)
		}
		return f.Link.Send(msg)
	}
	switch f.fault {
	case "lost":
		return nil
	case "duplicated":
		if err := f.Link.Send(msg); err != nil {
			return err
		}
		return f.Link.Send(msg)
	default: // reordered: hold this one until after the next
		f.held = append([]byte(nil), msg...)
		return nil
	}
}

func TestStreamFaults(t *testing.T) {
	for _, fault := range []string{"lost", "duplicated", "reordered"} {
		t.Run(fault, func(t *testing.T) {
			var f *faultyLink
			c, _ := muxPair(t, streamHandler(), func(l Link) Link {
				f = &faultyLink{Link: l, n: 2, fault: fault}
				return f
			})
			body := strings.NewReader(strings.Repeat("x", 100000)) // several chunks
			resp, err := c.Post("http://lms/sum", "text/plain", io.MultiReader(body))
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if !strings.HasPrefix(string(b), "100000 ") && resp.StatusCode == 200 {
					t.Fatalf("a %s chunk went unnoticed: %d %q", fault, resp.StatusCode, b)
				}
				if resp.StatusCode == 200 {
					t.Fatalf("a %s chunk went unnoticed", fault)
				}
			}
			// The channel stays usable for new requests.
			resp, err = c.Get("http://lms/peer")
			if err != nil {
				t.Fatalf("after a %s chunk: %v", fault, err)
			}
			resp.Body.Close()
		})
	}
}

// silentLink never delivers window updates: the peer does not acknowledge.
type silentLink struct {
	Link
	sent int
	mu   sync.Mutex
}

func (s *silentLink) Recv() ([]byte, error) {
	for {
		msg, err := s.Link.Recv()
		if err != nil {
			return nil, err
		}
		if typ, _, _, _, _ := parseFrame(msg); typ != frameWindow {
			return msg, nil
		}
	}
}

func (s *silentLink) Send(msg []byte) error {
	s.mu.Lock()
	if typ, _, _, payload, _ := parseFrame(msg); typ == frameData {
		s.sent += len(payload)
	}
	s.mu.Unlock()
	return s.Link.Send(msg)
}

func TestWindowBoundsUnacknowledged(t *testing.T) {
	a, b := LinkPair(0)
	sl := &silentLink{Link: a}
	client := ClientMux(sl, MuxOptions{Window: 64 << 10})
	defer client.Close()
	server := ServerMux(b, MuxOptions{})
	defer server.Close()
	conn, err := client.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Nobody reads on the server and no acknowledgement comes back: the
	// writer must stop at the window.
	conn.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	n, err := conn.Write(make([]byte, 1<<20))
	if !errors.Is(err, net.ErrClosed) && !isTimeout(err) {
		t.Fatalf("write returned %d, %v; want a deadline error", n, err)
	}
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if n > 64<<10 || sl.sent > 64<<10 {
		t.Fatalf("sent %d bytes (%d reported) with a 64 KiB window and no acknowledgement", sl.sent, n)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func FuzzMuxFrames(f *testing.F) {
	f.Add([]byte{frameData, 1, 0, 'h', 'i'})
	f.Add([]byte{frameWindow, 0, 0, 5})
	f.Add([]byte{frameReset, 1, 0, 'x'})
	f.Add([]byte{frameFin, 3, 0})
	f.Fuzz(func(t *testing.T, msg []byte) {
		a, b := LinkPair(0)
		m := ServerMux(b, MuxOptions{})
		defer m.Close()
		// Split the input into several frames at 0xff bytes.
		for _, part := range bytes.Split(msg, []byte{0xff}) {
			if err := a.Send(part); err != nil {
				return
			}
		}
		a.Close()
	})
}
