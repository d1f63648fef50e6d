package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
)

// The handler-floor contender is the least a transport of HTTP semantics
// can do over the raw socket: the client sends the method, the path and the
// content, length-prefixed, and no header field; the provider builds an
// http.Request, calls the same handler as the others, and sends back the
// status and the content, from which the client builds an http.Response.
// What httpipc costs beyond it is the cost of its protocol: header fields
// both ways, validation, framing of unknown lengths, trailers, deadlines.
//
// A request is: a byte of method length, the method, two bytes of path
// length, the path, eight bytes of content length and the content. A
// response is two bytes of status, eight bytes of content length and the
// content.

// serveFloor answers handler-floor connections on ln with h.
func serveFloor(ln net.Listener, h http.Handler) {
	serveEach(ln, func(c net.Conn, br *bufio.Reader) {
		w := &floorWriter{c: c}
		for {
			req, err := readFloorRequest(br)
			if err != nil {
				return
			}
			w.reset()
			h.ServeHTTP(w, req)
			if w.send() != nil {
				return
			}
		}
	})
}

func readFloorRequest(br *bufio.Reader) (*http.Request, error) {
	var hdr [2]byte
	ml, err := br.ReadByte()
	if err != nil {
		return nil, err
	}
	method := make([]byte, ml)
	if _, err := io.ReadFull(br, method); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, err
	}
	path := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	if _, err := io.ReadFull(br, path); err != nil {
		return nil, err
	}
	var lb [8]byte
	if _, err := io.ReadFull(br, lb[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint64(lb[:])
	if n > 1<<20 {
		return nil, errors.New("handler-floor: content too large")
	}
	content := make([]byte, n)
	if _, err := io.ReadFull(br, content); err != nil {
		return nil, err
	}
	u, err := url.ParseRequestURI(string(path))
	if err != nil {
		return nil, err
	}
	req := &http.Request{
		Method: string(method), URL: u, RequestURI: u.RequestURI(),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Length": {strconv.FormatUint(n, 10)}}, ContentLength: int64(n),
		Body: io.NopCloser(bytes.NewReader(content)), Host: "bench",
	}
	return req.WithContext(context.Background()), nil
}

// floorWriter buffers a handler's response and sends it whole.
type floorWriter struct {
	c      net.Conn
	header http.Header
	status int
	out    []byte
}

func (w *floorWriter) reset() {
	w.header, w.status, w.out = make(http.Header), 0, append(w.out[:0], make([]byte, 10)...)
}

func (w *floorWriter) Header() http.Header { return w.header }

func (w *floorWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *floorWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.out = append(w.out, p...)
	return len(p), nil
}

func (w *floorWriter) send() error {
	w.WriteHeader(http.StatusOK)
	binary.BigEndian.PutUint16(w.out, uint16(w.status))
	binary.BigEndian.PutUint64(w.out[2:], uint64(len(w.out)-10))
	_, err := w.c.Write(w.out)
	return err
}

// floorTransport is the client of handler-floor: one request at a time per
// connection, connections pooled.
type floorTransport struct {
	path  string
	conns connPool[*floorConn]
}

type floorConn struct {
	c   net.Conn
	br  *bufio.Reader
	buf []byte
}

func (t *floorTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	fc, err := t.conns.get(func() (*floorConn, error) {
		c, err := net.Dial("unix", t.path)
		if err != nil {
			return nil, err
		}
		return &floorConn{c: c, br: bufio.NewReaderSize(c, 64<<10)}, nil
	})
	if err != nil {
		return nil, err
	}
	resp, err := fc.roundTrip(req)
	if err != nil {
		return nil, err
	}
	t.conns.put(fc)
	return resp, nil
}

func (fc *floorConn) roundTrip(req *http.Request) (*http.Response, error) {
	path := req.URL.RequestURI()
	b := append(fc.buf[:0], byte(len(req.Method)))
	b = append(b, req.Method...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(path)))
	b = append(b, path...)
	lenAt := len(b)
	b = append(b, make([]byte, 8)...)
	if req.Body != nil {
		var err error
		if b, err = readAllTo(b, req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	binary.BigEndian.PutUint64(b[lenAt:], uint64(len(b)-lenAt-8))
	fc.buf = b
	if _, err := fc.c.Write(b); err != nil {
		return nil, err
	}
	var hdr [10]byte
	if _, err := io.ReadFull(fc.br, hdr[:]); err != nil {
		return nil, err
	}
	status := int(binary.BigEndian.Uint16(hdr[:]))
	n := binary.BigEndian.Uint64(hdr[2:])
	if n > 1<<20 {
		return nil, fmt.Errorf("handler-floor: answer of %d bytes", n)
	}
	content := make([]byte, n)
	if _, err := io.ReadFull(fc.br, content); err != nil {
		return nil, err
	}
	return &http.Response{
		Status: strconv.Itoa(status), StatusCode: status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Length": {strconv.FormatUint(n, 10)}}, ContentLength: int64(n),
		Body: io.NopCloser(bytes.NewReader(content)), Request: req,
	}, nil
}

// readAllTo appends what r holds to b.
func readAllTo(b []byte, r io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

func (t *floorTransport) close() {
	t.conns.closeAll(func(fc *floorConn) { fc.c.Close() })
}
