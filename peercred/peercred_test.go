//go:build linux

package peercred

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestGet(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fds[0]), "pair")
	pair, err := net.FileConn(f)
	f.Close()
	unix.Close(fds[1])
	if err != nil {
		t.Fatal(err)
	}
	defer pair.Close()

	tcpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcpLn.Close()
	tcp, err := net.Dial("tcp", tcpLn.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()

	self := Self()
	tests := []struct {
		name    string
		conn    net.Conn
		wantErr error
	}{
		{"server side", server, nil},
		{"client side", client, nil},
		{"socketpair", pair, nil},
		{"tcp", tcp, ErrNotSupported},
		{"nil", nil, ErrNotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Get(tt.conn)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.UID != self.UID || c.GID != self.GID || c.PID != self.PID {
				t.Fatalf("got %v, want %v", c, self)
			}
		})
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		c    *Creds
		want string
	}{
		{&Creds{PID: 42, UID: 1000, GID: 100}, "uid=1000 gid=100 pid=42"},
		{&Creds{PID: 7, UID: -1, GID: -1, SID: "S-1-5-21-1"}, "sid=S-1-5-21-1 pid=7"},
		{&Creds{PID: -1, UID: -1, GID: -1}, "unknown"},
		{nil, "unknown"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}
