//go:build linux

package dbusipc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/internal/otheruser"
	"github.com/httpipc/httpipc/internal/testbus"
	"github.com/httpipc/httpipc/internal/testwait"
	"github.com/httpipc/httpipc/message"
)

// Environment of TestHelperBusPeer, which the two-user tests run as the
// other user.
const (
	helperRole = "HTTPIPC_TEST_BUS_ROLE" // "rogue" or "linker"
	helperAddr = "HTTPIPC_TEST_BUS_ADDR"
	helperName = "HTTPIPC_TEST_BUS_NAME"
	helperUID  = "HTTPIPC_TEST_BUS_PROVIDER_UID" // linker: the provider's uid
)

// TestHelperBusPeer is the other user's side on the bus. As "rogue" it owns
// the bus name with an object that prints every method call it gets, says
// READY and serves until its standard input ends. As "linker" it opens a
// link to the provider of the name and prints OPENED or the error.
func TestHelperBusPeer(t *testing.T) {
	role := os.Getenv(helperRole)
	if role == "" {
		t.Skip("helper for the two-user tests")
	}
	conn, err := dbus.Connect(os.Getenv(helperAddr))
	if err != nil {
		fmt.Println("ERROR", err)
		return
	}
	defer conn.Close()
	name := os.Getenv(helperName)
	switch role {
	case "rogue":
		got := func(method string, args ...any) {
			fmt.Printf("GOT %s %q\n", method, fmt.Sprint(args...))
		}
		methods := map[string]any{
			"Call": func(req []byte) ([]byte, *dbus.Error) {
				got("Call", string(req))
				return nil, nil
			},
			"Connect": func() (dbus.UnixFD, *dbus.Error) {
				got("Connect")
				return -1, dbus.MakeFailedError(errors.New("no"))
			},
			"Open": func(path dbus.ObjectPath) (string, *dbus.Error) {
				got("Open", path)
				return conn.Names()[0], nil
			},
			"Frame": func(path dbus.ObjectPath, seq uint64, msg []byte) *dbus.Error {
				got("Frame", string(msg))
				return nil
			},
		}
		if err := conn.ExportMethodTable(methods, Path, Interface); err != nil {
			fmt.Println("ERROR", err)
			return
		}
		if reply, err := conn.RequestName(name, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
			fmt.Println("ERROR owning the name:", reply, err)
			return
		}
		fmt.Println("READY")
		io.Copy(io.Discard, os.Stdin)
	case "linker":
		uid, _ := strconv.Atoi(os.Getenv(helperUID))
		c := &Client{Conn: conn, Name: name, Provider: httpipc.AllowUIDs(uid)}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		mux, err := c.Mux(ctx, message.MuxOptions{})
		if err != nil {
			fmt.Println("ERROR", err)
			return
		}
		mux.Close()
		fmt.Println("OPENED")
	}
}

// busPeer starts TestHelperBusPeer as the other user.
func busPeer(t *testing.T, env ...string) (*exec.Cmd, io.WriteCloser, *bufio.Scanner) {
	t.Helper()
	cmd := otheruser.Command(otheruser.Executable(t), "-test.run", "^TestHelperBusPeer$")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, stdin, bufio.NewScanner(stdout)
}

// waitLine reads lines until one starts with prefix, within a bound, and
// returns the lines read.
func waitLine(t *testing.T, sc *bufio.Scanner, prefix string) []string {
	t.Helper()
	done := make(chan []string, 1)
	go func() {
		var lines []string
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if strings.HasPrefix(sc.Text(), prefix) {
				break
			}
		}
		done <- lines
	}()
	select {
	case lines := <-done:
		if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], prefix) {
			t.Fatalf("the other user's process said %q, want %s", lines, prefix)
		}
		return lines
	case <-time.After(30 * time.Second):
		t.Fatalf("the other user's process did not say %s", prefix)
	}
	return nil
}

// A bus name owned by a process of another user, which the client's
// Provider policy refuses, never receives anything of a request: not by
// message mode, not by descriptor handoff, not by a link.
func TestOtherUserOwnerGetsNoRequest(t *testing.T) {
	otheruser.Require(t)
	addr := testbus.StartOptions(t, testbus.Options{OtherUsers: true})
	const name = "org.httpipc.Rogue"
	cmd, stdin, out := busPeer(t, helperRole+"=rogue", helperAddr+"="+addr, helperName+"="+name)
	waitLine(t, out, "READY")

	client := &Client{Conn: connect(t, addr), Name: name} // SameUserOrRoot
	req, _ := http.NewRequest("POST", "http://lms/oauth/token", strings.NewReader("code=the-code"))
	req.Header.Set("Authorization", "Bearer secret-token")
	_, err := (&message.Transport{Channel: client}).RoundTrip(req)
	if !errors.Is(err, httpipc.ErrProviderIdentity) {
		t.Fatalf("message mode: %v, want ErrProviderIdentity", err)
	}
	t.Log(err)
	if _, err := client.Dial(context.Background()); !errors.Is(err, httpipc.ErrProviderIdentity) {
		t.Fatalf("Dial: %v, want ErrProviderIdentity", err)
	}
	if _, err := client.Mux(context.Background(), message.MuxOptions{}); !errors.Is(err, httpipc.ErrProviderIdentity) {
		t.Fatalf("Mux: %v, want ErrProviderIdentity", err)
	}

	stdin.Close()
	var lines []string
	for out.Scan() {
		lines = append(lines, out.Text())
	}
	cmd.Wait()
	for _, line := range lines {
		if strings.HasPrefix(line, "GOT") || strings.Contains(line, "secret-token") {
			t.Fatalf("the refused owner received %q", lines)
		}
	}
}

// serve runs p on name until the test ends, and waits until it owns the
// name.
func serve(t *testing.T, addr, name string, p *Provider) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- p.Serve(ctx, connect(t, addr), name) }()
	t.Cleanup(func() {
		cancel()
		testwait.Recv(t, served, 30*time.Second, "the provider stopping")
	})
	conn := connect(t, addr)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var owner string
		if conn.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, name).Store(&owner) == nil {
			return
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
}

// One user at its cap of links is refused, while another user still gets
// one.
func TestOtherUserLinkCapPerUser(t *testing.T) {
	otheruser.Require(t)
	addr := testbus.StartOptions(t, testbus.Options{OtherUsers: true})
	const name = "org.httpipc.Capped"
	p := newProvider()
	p.MaxLinksPerUser = 2
	p.SilenceTimeout = -1
	serve(t, addr, name, p)

	client := &Client{Conn: connect(t, addr), Name: name}
	for i := range 2 {
		mux, err := client.Mux(context.Background(), message.MuxOptions{})
		if err != nil {
			t.Fatalf("link %d: %v", i, err)
		}
		defer mux.Close()
	}
	_, err := client.Mux(context.Background(), message.MuxOptions{})
	if err == nil || !strings.Contains(err.Error(), "too many links") {
		t.Fatalf("third link of one user: %v, want too many links", err)
	}
	_, _, out := busPeer(t, helperRole+"=linker", helperAddr+"="+addr, helperName+"="+name, helperUID+"="+strconv.Itoa(os.Getuid()))
	waitLine(t, out, "OPENED")
}

// A caller that opens a link, or takes a socket from Connect, and then
// stays silent is closed at the SilenceTimeout.
func TestSilentCallerClosed(t *testing.T) {
	addr := startBus(t)
	const name = "org.httpipc.Silence"
	p := newProvider()
	p.SilenceTimeout = 50 * time.Millisecond
	p.Streams.PrefaceTimeout = -1 // only the Provider's deadline acts
	serve(t, addr, name, p)
	conn := connect(t, addr)
	obj := conn.Object(name, Path)

	// A link with no frame: the provider closes it.
	closed := make(chan struct{}, 1)
	path := dbus.ObjectPath("/org/httpipc/Link/lsilent")
	err := conn.ExportMethodTable(map[string]any{
		"Frame": func(seq uint64, msg []byte) *dbus.Error { return nil },
		"Close": func() *dbus.Error {
			closed <- struct{}{}
			return nil
		},
	}, path, LinkInterface)
	if err != nil {
		t.Fatal(err)
	}
	var owner string
	if err := obj.Call(Interface+".Open", 0, path).Store(&owner); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("the silent link was not closed")
	}

	// A socket with no byte: the provider closes its end.
	var fd dbus.UnixFD
	if err := obj.Call(Interface+".Connect", 0).Store(&fd); err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "handed")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("silent socket: read %d, %v; want end of file", n, err)
	}
}
