package conformance

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/httpipc/httpipc/bhttp"
	"github.com/httpipc/httpipc/internal/httpmsg"
)

// magic starts every preface (section 6).
var magic = [8]byte{0x89, 'I', 'P', 'C', '\r', '\n', 0x1a, '\n'}

const (
	maxRefusalReason = 1024
	maxCapture       = 64 << 20 // bytes of the provider's output a case keeps
)

func clientPreface(lo, hi byte) []byte { return append(magic[:], lo, hi) }

// conn is a connection to the provider that records what it reads, so that
// a message's exact bytes can be checked after bhttp decoded it.
type conn struct {
	t   *T
	nc  net.Conn
	rec []byte
	br  *bufio.Reader
	dec *bhttp.Reader

	lastWrite *pendingWrite // the previous send; sends happen in order
}

// dial opens a recorded connection.
func (t *T) dial() (*conn, error) {
	nc, err := t.DialRaw()
	if err != nil {
		return nil, err
	}
	c := &conn{t: t, nc: nc}
	c.br = bufio.NewReader(recorder{c})
	c.dec = bhttp.NewReader(c.br, bhttp.Limits{})
	return c, nil
}

type recorder struct{ c *conn }

func (r recorder) Read(p []byte) (int, error) {
	n, err := r.c.nc.Read(p)
	if len(r.c.rec) < maxCapture {
		r.c.rec = append(r.c.rec, p[:n]...)
	}
	return n, err
}

// pos is the offset in the recording of the next byte to decode.
func (c *conn) pos() int { return len(c.rec) - c.br.Buffered() }

// send writes b in the background, after the previous send, so that a
// provider that answers before reading everything cannot block the case.
// The returned write reports the result once it is done.
func (c *conn) send(b []byte) *pendingWrite {
	prev := c.lastWrite
	w := &pendingWrite{done: make(chan struct{})}
	c.lastWrite = w
	go func() {
		defer close(w.done)
		if prev != nil {
			if w.err = prev.wait(); w.err != nil {
				return
			}
		}
		_, w.err = c.nc.Write(b)
	}()
	return w
}

// pendingWrite is a write in progress.
type pendingWrite struct {
	done chan struct{}
	err  error
}

func (w *pendingWrite) wait() error {
	<-w.done
	return w.err
}

// write writes b and waits for the write to finish.
func (c *conn) write(b []byte) error {
	if err := c.send(b).wait(); err != nil {
		return c.t.timeoutError(err, "write")
	}
	return nil
}

// closeWrite half-closes the connection, if it can be.
func (c *conn) closeWrite() bool {
	cw, ok := c.nc.(interface{ CloseWrite() error })
	return ok && cw.CloseWrite() == nil
}

// isClosed reports whether err means the peer closed the connection.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// readPreface reads a server preface and returns its version and, for a
// refusal, its reason.
func (c *conn) readPreface() (version byte, reason string, err error) {
	var p [9]byte
	n, err := io.ReadFull(c.br, p[:])
	if err != nil {
		if n == 0 && isClosed(err) {
			return 0, "", errors.New("the provider closed the connection without a server preface")
		}
		if isClosed(err) {
			return 0, "", fmt.Errorf("the provider closed the connection after %d bytes of a server preface: % x", n, p[:n])
		}
		return 0, "", c.t.timeoutError(err, "server preface")
	}
	if [8]byte(p[:8]) != magic {
		return 0, "", fmt.Errorf("the server preface does not start with the magic: got % x", p[:])
	}
	if p[8] != 0 {
		return p[8], "", nil
	}
	l, err := bhttp.ReadVarint(c.br)
	if err != nil {
		return 0, "", fmt.Errorf("refusal preface: reading the reason's length: %w", err)
	}
	if l > maxRefusalReason {
		return 0, "", fmt.Errorf("refusal reason of %d bytes, over the limit of %d", l, maxRefusalReason)
	}
	b := make([]byte, l)
	if _, err := io.ReadFull(c.br, b); err != nil {
		return 0, "", fmt.Errorf("refusal preface: reading a reason of %d bytes: %w", l, err)
	}
	if !utf8.Valid(b) {
		return 0, "", fmt.Errorf("refusal reason %q is not UTF-8", b)
	}
	return 0, string(b), nil
}

// expectAccepted reads a server preface that accepts version 1.
func (c *conn) expectAccepted() error {
	v, reason, err := c.readPreface()
	switch {
	case err != nil:
		return err
	case v == 0:
		return fmt.Errorf("the provider refused the connection: %q", reason)
	case v != 1:
		return fmt.Errorf("the server preface chose version %d; the client offered only 1", v)
	}
	return nil
}

// expectRefused reads a refusal preface and then the end of the stream.
func (c *conn) expectRefused() (string, error) {
	v, reason, err := c.readPreface()
	if err != nil {
		return "", err
	}
	if v != 0 {
		return "", fmt.Errorf("the provider accepted the connection with version %d instead of refusing it", v)
	}
	if err := c.expectClosed("after the refusal"); err != nil {
		return "", err
	}
	return reason, nil
}

// expectClosed reads the end of the stream: the provider must close the
// connection and send nothing more.
func (c *conn) expectClosed(after string) error {
	var b [512]byte
	n, err := io.ReadFull(c.br, b[:])
	switch {
	case n > 0:
		return fmt.Errorf("%d more bytes %s instead of the end of the connection: % x", n, after, b[:min(n, 64)])
	case isClosed(err):
		return nil
	}
	return c.t.timeoutError(err, "end of the connection "+after)
}

// response is a decoded response and its bytes on the stream.
type response struct {
	head    *bhttp.ResponseHead
	content []byte
	trailer http.Header
	raw     []byte
}

// errorCode returns the httpipc-error field of r.
func (r *response) errorCode() string { return r.head.Header.Get(httpmsg.ErrorField) }

func (r *response) String() string {
	s := fmt.Sprintf("%d", r.head.Status)
	if code := r.errorCode(); code != "" {
		s += " httpipc-error: " + code
	}
	if len(r.content) > 0 && r.head.Header.Get(httpmsg.ErrorField) != "" {
		s += fmt.Sprintf(" (%q)", strings.TrimSpace(string(r.content[:min(len(r.content), 200)])))
	}
	return s
}

// readResponse reads one whole response under the rules of section 3.
// head says it answers a HEAD request.
func (c *conn) readResponse(head bool) (*response, error) {
	start := c.pos()
	if head {
		c.dec.ExpectHeadResponse()
	}
	h, err := c.dec.ReadResponseHead(nil)
	if err != nil {
		return nil, c.decodeError(err, "response")
	}
	content, err := io.ReadAll(c.dec)
	if err != nil {
		return nil, c.decodeError(err, fmt.Sprintf("content of the %d response", h.Status))
	}
	raw := c.rec[start:c.pos()]
	return &response{head: h, content: content, trailer: c.dec.Trailer(), raw: raw}, nil
}

func (c *conn) decodeError(err error, what string) error {
	switch {
	case errors.Is(err, bhttp.ErrMalformed), errors.Is(err, bhttp.ErrTooLarge):
		return fmt.Errorf("%s does not follow section 3: %w", what, err)
	case err == io.EOF:
		return fmt.Errorf("the provider closed the connection instead of sending a %s", what)
	case isClosed(err):
		return fmt.Errorf("the provider closed the connection in the middle of a %s", what)
	}
	return c.t.timeoutError(err, what)
}

// expectGenerated reads the response a provider generates for a protocol
// error (section 4) and checks its exact form: status, the fields
// cache-control, content-type and httpipc-error in that order, no
// content-length, one line of UTF-8 text ending in LF in one chunk, an empty
// trailer section, indeterminate-length framing; then the provider closes
// the connection.
func (c *conn) expectGenerated(status int, code string) (*response, error) {
	r, err := c.readResponse(false)
	if err != nil {
		return nil, err
	}
	if r.head.Status != status || r.errorCode() != code {
		return r, fmt.Errorf("got %v, want %d with httpipc-error: %s", r, status, code)
	}
	if err := checkGeneratedForm(r); err != nil {
		return r, err
	}
	return r, c.expectClosed(fmt.Sprintf("after the %d response", status))
}

func checkGeneratedForm(r *response) error {
	body := string(r.content)
	switch {
	case !strings.HasSuffix(body, "\n"):
		return fmt.Errorf("the body %q does not end in LF", body)
	case strings.Count(body, "\n") != 1:
		return fmt.Errorf("the body %q is not one line", body)
	case !utf8.ValidString(body):
		return fmt.Errorf("the body %q is not UTF-8", body)
	case r.head.Header.Get("Content-Length") != "":
		return fmt.Errorf("the response has content-length: %s", r.head.Header.Get("Content-Length"))
	}
	want := httpmsg.AppendErrorResponse(bhttp.AppendResponseStart(nil), r.head.Status, r.errorCode(), strings.TrimSuffix(body, "\n"))
	if !bytes.Equal(r.raw, want) {
		return fmt.Errorf("the response is not in the form of section 4 (fields cache-control, content-type: text/plain; charset=utf-8, httpipc-error in that order; the body in one chunk; an empty trailer section; framing indicator 3):\ngot  % x\nwant % x", r.raw, want)
	}
	return nil
}

// randomPath returns a path no API is likely to serve.
func randomPath() string {
	return "/httpipc-conformance/" + strings.ToLower(rand.Text()[:12])
}

// request encodes a request with the bhttp encoder: indeterminate length,
// content in one chunk if any.
func request(method, path string, h http.Header, content []byte) []byte {
	b, err := bhttp.AppendRequest(nil, &bhttp.Request{
		RequestHead: bhttp.RequestHead{Method: method, Scheme: "http", Authority: "conformance", Path: path, Header: h},
		Content:     content,
	})
	if err != nil {
		panic(err) // the cases build valid requests
	}
	return b
}

// rawRequest builds request bytes without checking them, for requests that
// break the rules on purpose.
type rawRequest struct {
	indicator byte // 0 known length, anything else the indeterminate layout
	method    string
	path      string
	fields    [][2]string
	content   [][]byte // chunks; known length joins them
	trailer   [][2]string
}

func (r rawRequest) bytes() []byte {
	b := []byte{r.indicator}
	for _, s := range []string{r.method, "http", "conformance", r.path} {
		b = appendString(b, s)
	}
	known := r.indicator == bhttp.KnownLengthRequest
	fields := func(b []byte, fs [][2]string) []byte {
		var sec []byte
		for _, f := range fs {
			sec = appendString(appendString(sec, f[0]), f[1])
		}
		if known {
			return append(bhttp.AppendVarint(b, uint64(len(sec))), sec...)
		}
		return append(append(b, sec...), 0)
	}
	b = fields(b, r.fields)
	if known {
		b = appendString(b, string(bytes.Join(r.content, nil)))
	} else {
		for _, ch := range r.content {
			b = bhttp.AppendChunk(b, ch)
		}
		b = append(b, 0)
	}
	return fields(b, r.trailer)
}

func appendString(b []byte, s string) []byte {
	return append(bhttp.AppendVarint(b, uint64(len(s))), s...)
}
