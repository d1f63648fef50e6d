package httpipc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/httpipc/httpipc/internal/otheruser"
)

// The attacker of the two-user tests is this test binary, run as another
// user with attackEnv naming what it does (see runAttacker).
const (
	attackEnv     = "HTTPIPC_TEST_ATTACK"
	attackAddrEnv = "HTTPIPC_TEST_ATTACK_ADDR"
	attackNEnv    = "HTTPIPC_TEST_ATTACK_N"
)

// runAttacker acts on the provider at $HTTPIPC_TEST_ATTACK_ADDR and prints
// what it saw on standard output:
//   - silent: connects, sends nothing, prints in hex what the provider sent
//     before closing;
//   - get: sends GET /hello with a Transport and prints the status or the
//     error;
//   - hold: opens $HTTPIPC_TEST_ATTACK_N connections that send nothing,
//     prints "refused K" for those the provider refused at once, then keeps
//     the rest open until standard input closes.
func runAttacker(mode string) int {
	addr := os.Getenv(attackAddrEnv)
	path := strings.TrimPrefix(addr, "unix:")
	switch mode {
	case "silent":
		c, err := net.Dial("unix", path)
		if err != nil {
			fmt.Println("dial:", err)
			return 1
		}
		b, err := io.ReadAll(c)
		fmt.Printf("read %s %v\n", hex.EncodeToString(b), err)
	case "get":
		resp, err := NewClient(addr).Get("http://lms/hello")
		if err != nil {
			fmt.Println("error:", err)
			return 0
		}
		resp.Body.Close()
		fmt.Println("status", resp.StatusCode)
	case "hold":
		n, _ := strconv.Atoi(os.Getenv(attackNEnv))
		refused := 0
		for range n {
			c, err := net.Dial("unix", path)
			if err != nil {
				fmt.Println("dial:", err)
				return 1
			}
			// A refused connection gets a refusal preface and is closed
			// at once; an admitted one sends nothing until its deadline.
			_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			p := make([]byte, prefaceLen+1)
			if _, err := io.ReadFull(c, p); err == nil && p[prefaceLen] == versionRefused {
				refused++
			}
			_ = c.SetReadDeadline(time.Time{})
		}
		fmt.Println("refused", refused)
		io.Copy(io.Discard, os.Stdin)
	default:
		fmt.Println("unknown attack", mode)
		return 2
	}
	return 0
}

// attack runs the attacker as the other user against addr and returns what
// it printed. It fails the test if the attacker does not finish within
// a minute, which is how a provider that waits on a refused peer shows.
func attack(t *testing.T, mode, addr string, env ...string) string {
	t.Helper()
	exe := otheruser.Executable(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := otheruser.CommandContext(ctx, exe, "-test.run", "^$")
	cmd.Env = append(cmd.Env, append(env, attackEnv+"="+mode, attackAddrEnv+"="+addr)...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("attacker %s did not finish within a minute: %s", mode, out)
	}
	if err != nil {
		t.Fatalf("attacker %s: %v: %s", mode, err, out)
	}
	return string(out)
}

// abstractAddr is a fresh abstract socket address: no file permission
// guards it, so only the provider's policy keeps the other user out.
func abstractAddr(t *testing.T) string {
	b := make([]byte, 8)
	rand.Read(b)
	return "unix:@httpipc-test-" + hex.EncodeToString(b)
}

// serveOn serves srv at addr until the test ends.
func serveOn(t *testing.T, addr string, srv *Server) {
	t.Helper()
	ln, err := Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	if srv.Logger == nil {
		srv.Logger = quietLogger()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
}

// TestTwoUsersRefusedBeforeReading: another user on a socket that anyone
// can reach is refused by the default policy as soon as it connects, before
// it sends a byte, and its requests fail with ErrRefused.
func TestTwoUsersRefusedBeforeReading(t *testing.T) {
	otheruser.Require(t)
	addr := abstractAddr(t)
	// A peer allowed in would wait an hour for its preface: the attacker
	// finishing at all shows the refusal did not wait for it.
	serveOn(t, addr, &Server{Handler: testMux(t), PrefaceTimeout: time.Hour})

	out := attack(t, "silent", addr)
	want := hex.EncodeToString(append(magic[:], versionRefused))
	if !strings.HasPrefix(out, "read "+want) || !strings.Contains(out, hex.EncodeToString([]byte("is not the same user"))) {
		t.Fatalf("a silent connection of uid %d got %q, want a refusal preface (%s...) naming the reason", otheruser.UID, out, want)
	}
	if out := attack(t, "get", addr); !strings.Contains(out, ErrRefused.Error()) || !strings.Contains(out, "is not the same user") {
		t.Fatalf("GET as uid %d: %q, want %v with the policy's reason", otheruser.UID, out, ErrRefused)
	}
	// The provider's own user still gets through.
	resp, err := NewClient(addr).Get("http://lms/hello?name=x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("same user: %s", resp.Status)
	}
}

// TestTwoUsersConnectionCap: a user the policy admits cannot hold more than
// MaxConnsPerUser connections, and its silent connections do not keep
// another user out.
func TestTwoUsersConnectionCap(t *testing.T) {
	otheruser.Require(t)
	addr := abstractAddr(t)
	const perUser = 4
	serveOn(t, addr, &Server{
		Handler:         testMux(t),
		Policy:          AnyOf(SameUser(), AllowUIDs(otheruser.UID)),
		PrefaceTimeout:  time.Hour,
		MaxConnsPerUser: perUser,
	})
	exe := otheruser.Executable(t)
	cmd := otheruser.Command(exe, "-test.run", "^$")
	cmd.Env = append(cmd.Env, attackEnv+"=hold", attackAddrEnv+"="+addr, attackNEnv+"="+strconv.Itoa(perUser+3))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	line := make([]byte, 64)
	n, err := stdout.Read(line)
	if err != nil {
		t.Fatalf("attacker: %v", err)
	}
	if got := strings.TrimSpace(string(line[:n])); got != "refused 3" {
		t.Fatalf("attacker opening %d connections with a cap of %d: %q, want \"refused 3\"", perUser+3, perUser, got)
	}
	// While the other user holds its whole share, this user gets through.
	resp, err := NewClient(addr).Get("http://lms/hello?name=x")
	if err != nil {
		t.Fatalf("same user while another holds its cap: %v", err)
	}
	resp.Body.Close()
}

func TestConnectionCapTotal(t *testing.T) {
	addr := startServer(t, &Server{Handler: testMux(t), PrefaceTimeout: time.Hour, MaxConns: 2})
	path := strings.TrimPrefix(addr, "unix:")
	for range 2 {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	_, err := NewClient(addr).Get("http://lms/hello")
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), errTooManyConns) {
		t.Fatalf("third connection with MaxConns 2: %v, want %v: %s", err, ErrRefused, errTooManyConns)
	}
}

func TestOpenSocketRefused(t *testing.T) {
	tcp := func(t *testing.T) net.Listener {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return ln
	}
	abstract := func(t *testing.T) net.Listener {
		ln, err := Listen(abstractAddr(t))
		if err != nil {
			t.Fatal(err)
		}
		return ln
	}
	file := func(t *testing.T) net.Listener {
		ln, err := Listen("unix:" + filepath.Join(t.TempDir(), "p.sock"))
		if err != nil {
			t.Fatal(err)
		}
		return ln
	}
	for _, tc := range []struct {
		name     string
		listen   func(*testing.T) net.Listener
		policy   Policy
		insecure bool
		refused  bool
	}{
		{"abstract, AllowAny", abstract, AllowAny(), false, true},
		{"abstract, AnyOf with AllowAny", abstract, AnyOf(SameUser(), AllowAny()), false, true},
		{"tcp, AllowAny", tcp, AllowAny(), false, true},
		{"abstract, AllowAny, insecure opt-out", abstract, AllowAny(), true, false},
		{"abstract, default policy", abstract, nil, false, false},
		{"abstract, AllowUIDs", abstract, AllowUIDs(1000), false, false},
		{"socket file, AllowAny", file, AllowAny(), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &Server{Handler: testMux(t), Policy: tc.policy, InsecureAllowAnyUser: tc.insecure, Logger: quietLogger()}
			ln := tc.listen(t)
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			if tc.refused {
				err := <-errc
				if !errors.Is(err, ErrOpenSocket) {
					t.Fatalf("Serve: %v, want %v", err, ErrOpenSocket)
				}
				return
			}
			srv.Close()
			if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
				t.Fatalf("Serve: %v", err)
			}
		})
	}
}

// readUntilClosed reads c until the provider closes it and returns what it
// read; it fails the test if that takes a minute.
func readUntilClosed(t *testing.T, c net.Conn) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(time.Minute))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("waiting for the provider to close the connection: %v (read %q)", err, b)
	}
	return b
}

func TestConnectionDeadlines(t *testing.T) {
	const d = 100 * time.Millisecond
	for _, tc := range []struct {
		name string
		srv  *Server
		send []byte // then nothing more
		want []byte // what the provider sends before closing, if it matters
	}{
		{"silent", &Server{PrefaceTimeout: d}, nil, nil},
		{"half a preface", &Server{PrefaceTimeout: d}, magic[:4], nil},
		{"http1 first byte only", &Server{PrefaceTimeout: time.Hour, ReadHeaderTimeout: d}, []byte("G"), nil},
		{"preface only", &Server{ConnIdleTimeout: d}, clientPreface(1, 1), nil},
		{"half a request head", &Server{ReadHeaderTimeout: d, ConnIdleTimeout: time.Hour}, append(clientPreface(1, 1), getReq("/hello")[:5]...), nil},
		{"idle after a request", &Server{ConnIdleTimeout: d}, append(clientPreface(1, 1), getReq("/hello")...), nil},
		{"half a head after a request", &Server{ReadHeaderTimeout: d, ConnIdleTimeout: time.Hour},
			slices.Concat(clientPreface(1, 1), getReq("/hello"), getReq("/hello")[:5]), nil},
		{"http1 keep-alive", &Server{ConnIdleTimeout: d}, []byte("GET /hello HTTP/1.1\r\nHost: lms\r\n\r\n"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.srv.Handler = testMux(t)
			addr := startServer(t, tc.srv)
			c, err := net.Dial("unix", strings.TrimPrefix(addr, "unix:"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(tc.send); err != nil {
				t.Fatal(err)
			}
			got := readUntilClosed(t, c)
			if tc.want != nil && !bytes.Equal(got, tc.want) {
				t.Fatalf("provider sent %q before closing, want %q", got, tc.want)
			}
			if tc.want == nil && strings.Contains(tc.name, "after") && !bytes.Contains(got, []byte("hello")) {
				t.Fatalf("provider sent %q, want the response", got)
			}
		})
	}
}

// TestIdleExitNotHeldOff: a connection that sends nothing, only a preface,
// or that idles after an HTTP/1.1 request does not keep the provider from
// its idle exit, however long its own deadlines are.
func TestIdleExitNotHeldOff(t *testing.T) {
	for _, tc := range []struct {
		name string
		send []byte
	}{
		{"silent", nil},
		{"preface only", clientPreface(1, 1)},
		{"binary keep-alive", append(clientPreface(1, 1), getReq("/hello")...)},
		{"http1 keep-alive", []byte("GET /hello HTTP/1.1\r\nHost: lms\r\n\r\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sock := filepath.Join(t.TempDir(), "p.sock")
			ln, err := Listen("unix:" + sock)
			if err != nil {
				t.Fatal(err)
			}
			srv := &Server{Handler: testMux(t), IdleTimeout: 50 * time.Millisecond,
				PrefaceTimeout: time.Hour, ConnIdleTimeout: time.Hour, ReadHeaderTimeout: time.Hour, Logger: quietLogger()}
			c, err := net.Dial("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(tc.send); err != nil {
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			select {
			case err := <-errc:
				if !errors.Is(err, ErrIdle) {
					t.Fatalf("Serve: %v, want ErrIdle", err)
				}
			case <-time.After(time.Minute):
				srv.Close()
				t.Fatal("no idle exit within a minute: the connection held it off")
			}
			readUntilClosed(t, c)
		})
	}
}
