//go:build linux

package message

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/bhttp"
)

// seqPacket serves srv on a real SOCK_SEQPACKET socket and dials it.
func seqPacket(t *testing.T, srv *Server) Channel {
	t.Helper()
	dir, err := os.MkdirTemp("", "msg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "m.sock")
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	go ServeSeqPacket(ln, srv)
	t.Cleanup(func() { ln.Close() })
	ch, err := DialSeqPacket(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	return ch
}

// TestSeqPacketLimits: a peer the policy refuses gets one 403 even if it
// sends nothing, and a user over its channel cap gets one 503, which the
// Transport reports as httpipc.ErrRefused.
func TestSeqPacketLimits(t *testing.T) {
	get := func(t *testing.T, ch Channel) *http.Response {
		t.Helper()
		resp, err := (&http.Client{Transport: &Transport{Channel: ch}}).Get("http://lms/hello")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	t.Run("refused before reading", func(t *testing.T) {
		ch := seqPacket(t, &Server{Handler: testHandler(), Logger: quiet(), Policy: httpipc.AllowUIDs(1<<31 - 3)})
		c := ch.(*SeqPacketChannel).c
		buf := make([]byte, SeqPacketMax)
		n, err := c.Read(buf) // nothing was sent
		if err != nil {
			t.Fatal(err)
		}
		resp, err := bhttp.DecodeResponse(buf[:n], bhttp.Limits{})
		if err != nil || resp.Status != http.StatusForbidden || resp.Header.Get("Httpipc-Error") != "forbidden" {
			t.Fatalf("refusal: %+v %v, want 403 forbidden", resp, err)
		}
	})
	t.Run("idle channel closed", func(t *testing.T) {
		ch := seqPacket(t, &Server{Handler: testHandler(), Logger: quiet(), ConnIdleTimeout: 50 * time.Millisecond})
		c := ch.(*SeqPacketChannel).c
		_ = c.SetReadDeadline(time.Now().Add(time.Minute))
		if n, err := c.Read(make([]byte, 16)); n != 0 || err != nil && err != io.EOF {
			t.Fatalf("an idle channel: read %d bytes, %v; want the provider to close it", n, err)
		}
	})
	t.Run("per-user cap", func(t *testing.T) {
		srv := &Server{Handler: testHandler(), Logger: quiet(), MaxConnsPerUser: 1}
		first := seqPacket(t, srv)
		if resp := get(t, first); resp.StatusCode != http.StatusOK {
			t.Fatalf("first channel: %s", resp.Status)
		}
		second, err := DialSeqPacket(context.Background(), first.(*SeqPacketChannel).c.RemoteAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer second.Close()
		// The provider's 503 too-many is a refusal, as on a stream.
		_, err = (&http.Client{Transport: &Transport{Channel: second}}).Get("http://lms/hello")
		if !errors.Is(err, httpipc.ErrRefused) || !strings.Contains(err.Error(), "too many channels") {
			t.Fatalf("second channel over a cap of 1: %v, want %v (too many channels)", err, httpipc.ErrRefused)
		}
	})
}
