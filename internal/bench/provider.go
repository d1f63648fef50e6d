package bench

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/proxy"
)

// MaybeServe turns this process into the benchmark provider when the
// benchmark started it, and never returns in that case. Call it first thing
// in main (and in TestMain).
func MaybeServe() {
	if c := os.Getenv(cpuEnv); c != "" {
		cpu, err := strconv.Atoi(c)
		if err == nil {
			err = pinTo(cpu)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench provider: %s=%q: %v\n", cpuEnv, c, err)
			os.Exit(1)
		}
	}
	if mode := os.Getenv(coldEnv); mode != "" {
		if err := serveCold(mode); err != nil {
			fmt.Fprintln(os.Stderr, "bench cold-start provider:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if target := os.Getenv(proxyEnv); target != "" {
		if err := serveProxy(target); err != nil {
			fmt.Fprintln(os.Stderr, "bench proxy:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	dir := os.Getenv(providerEnv)
	if dir == "" {
		return
	}
	if err := serveProvider(dir); err != nil {
		fmt.Fprintln(os.Stderr, "bench provider:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Handler is the API every HTTP contender serves: POST /echo answers with
// the request body, GET /download?n=N with N bytes, GET /pid with the
// provider's process id.
func Handler() http.Handler {
	pool := sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		bp := pool.Get().(*[]byte)
		defer pool.Put(bp)
		buf := *bp
		if r.ContentLength >= 0 && r.ContentLength <= int64(len(buf)) {
			// Read first, then answer: HTTP/1.1 servers do not all allow
			// writing while the request body is still coming.
			n, err := io.ReadFull(r.Body, buf[:r.ContentLength])
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Length", strconv.Itoa(n))
			w.Write(buf[:n])
			return
		}
		if r.ContentLength > int64(len(buf)) && r.ContentLength <= 1<<20 {
			big := make([]byte, r.ContentLength)
			{
				n, err := io.ReadFull(r.Body, big)
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				w.Header().Set("Content-Length", strconv.Itoa(n))
				w.Write(big)
				return
			}
		}
		// A large or unsized body streams through.
		io.CopyBuffer(w, r.Body, buf)
	})
	mux.HandleFunc("GET /pid", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strconv.Itoa(os.Getpid())))
	})
	mux.HandleFunc("GET /download", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		if err != nil || n < 0 {
			http.Error(w, "bad n", http.StatusBadRequest)
			return
		}
		bp := pool.Get().(*[]byte)
		defer pool.Put(bp)
		buf := *bp
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		for n > 0 {
			k := min(n, int64(len(buf)))
			if _, err := w.Write(buf[:k]); err != nil {
				return
			}
			n -= k
		}
	})
	return mux
}

// serveProxy runs a localhost proxy to the httpipc provider at the socket
// target, in this process alone, reports its base URL and pid, and serves
// until its standard input closes.
func serveProxy(target string) error {
	ln, err := proxy.Listen("127.0.0.1:0")
	if err != nil {
		return err
	}
	px := &proxy.Proxy{Service: "unix:" + target, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	go px.Serve(ln)
	line, _ := json.Marshal(addrs{Proxy: px.BaseURL(ln.Addr()), PID: os.Getpid()})
	os.Stdout.Write(append(line, '\n'))
	io.Copy(io.Discard, os.Stdin)
	return nil
}

func serveProvider(dir string) error {
	a := addrs{
		Raw:     filepath.Join(dir, "raw.sock"),
		Floor:   filepath.Join(dir, "floor.sock"),
		HTTPIPC: filepath.Join(dir, "ipc.sock"),
		HTTP:    filepath.Join(dir, "http.sock"),
		PID:     os.Getpid(),
	}
	rawLn, err := net.Listen("unix", a.Raw)
	if err != nil {
		return err
	}
	go serveRaw(rawLn)
	floorLn, err := net.Listen("unix", a.Floor)
	if err != nil {
		return err
	}
	go serveFloor(floorLn, Handler())
	ipcLn, err := httpipc.Listen("unix:" + a.HTTPIPC)
	if err != nil {
		return err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	go (&httpipc.Server{Handler: Handler(), Logger: quiet}).Serve(ipcLn)
	httpLn, err := net.Listen("unix", a.HTTP)
	if err != nil {
		return err
	}
	go (&http.Server{Handler: Handler()}).Serve(httpLn)
	tcpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	a.TCP = tcpLn.Addr().String()
	if a.Packet, err = serveSeqPacket(dir); err != nil {
		return err
	}
	go (&http.Server{Handler: Handler()}).Serve(tcpLn)
	if a.DBus, err = serveBus(); err != nil {
		return err
	}
	line, _ := json.Marshal(a)
	os.Stdout.Write(append(line, '\n'))
	// Exit with the benchmark: it holds our standard input open.
	io.Copy(io.Discard, os.Stdin)
	return nil
}

// serveEach serves each connection ln accepts with serve, in a goroutine
// of its own, reading through a buffer, until ln is closed; the connection
// is closed when serve returns.
func serveEach(ln net.Listener, serve func(c net.Conn, br *bufio.Reader)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			serve(c, bufio.NewReaderSize(c, 64<<10))
		}()
	}
}

// serveRaw answers the raw ping-pong: an 8-byte header (length, top bit set
// for a download) and the payload in; the length and payload back.
func serveRaw(ln net.Listener) {
	serveEach(ln, func(c net.Conn, br *bufio.Reader) {
		buf := make([]byte, 64<<10)
		for {
			var hdr [8]byte
			if _, err := io.ReadFull(br, hdr[:]); err != nil {
				return
			}
			h := binary.BigEndian.Uint64(hdr[:])
			download := h&(1<<63) != 0
			n := int64(h &^ (1 << 63))
			out := buf[:8]
			binary.BigEndian.PutUint64(out, uint64(n))
			if download {
				if _, err := c.Write(out); err != nil {
					return
				}
				for left := n; left > 0; {
					k := min(left, int64(len(buf)))
					if _, err := c.Write(buf[:k]); err != nil {
						return
					}
					left -= k
				}
				continue
			}
			if n > int64(len(buf))-8 {
				out = make([]byte, 8+n)
				binary.BigEndian.PutUint64(out, uint64(n))
			} else {
				out = buf[:8+n]
			}
			if _, err := io.ReadFull(br, out[8:]); err != nil {
				return
			}
			if _, err := c.Write(out); err != nil {
				return
			}
		}
	})
}
