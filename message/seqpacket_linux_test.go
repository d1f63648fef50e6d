//go:build linux

package message

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
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
