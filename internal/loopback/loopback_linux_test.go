//go:build linux && !android

package loopback

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/httpipc/httpipc/internal/testprog"
)

func TestPeer(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6"} {
		t.Run(network, func(t *testing.T) {
			addr := "127.0.0.1:0"
			if network == "tcp6" {
				addr = "[::1]:0"
			}
			ln, err := net.Listen(network, addr)
			if err != nil {
				// A skip, unless HTTPIPC_REQUIRE_IPV6 is set: containers
				// and CI machines may run without IPv6 (see testprog.IPv6).
				testprog.Missing(t, testprog.IPv6, "no ", network, " loopback: ", err)
			}
			defer ln.Close()
			client, err := net.Dial(network, ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			server, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer server.Close()
			for name, c := range map[string]net.Conn{"server side": server, "client side": client} {
				creds, err := Peer(c)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if creds.UID != os.Getuid() || creds.PID != -1 {
					t.Fatalf("%s: got %v, want uid=%d", name, creds, os.Getuid())
				}
			}
			// Once the peer has gone, its owner cannot be known.
			client.Close()
			if _, err := Peer(server); err == nil {
				t.Fatal("owner of a closed peer reported")
			}
		})
	}
	unixLn, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer unixLn.Close()
	uc, err := net.Dial("unix", unixLn.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	for _, c := range []net.Conn{uc, nil} {
		if _, err := Peer(c); !errors.Is(err, ErrNotLoopback) {
			t.Fatalf("got %v, want ErrNotLoopback", err)
		}
	}
}
