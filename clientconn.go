package httpipc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/httpipc/httpipc/bhttp"
	"github.com/httpipc/httpipc/internal/httpmsg"
)

// clientConn is one connection of a Transport; it carries one request at a
// time.
type clientConn struct {
	t           *Transport
	nc          net.Conn
	br          *bufio.Reader
	dec         *bhttp.Reader
	wbuf        []byte
	prefaceSent bool
	prefaceRead bool
	reused      bool
	idleSince   time.Time
}

func newClientConn(t *Transport, nc net.Conn) *clientConn {
	br := bufio.NewReaderSize(nc, bufferSize)
	return &clientConn{
		t:    t,
		nc:   nc,
		br:   br,
		dec:  bhttp.NewReader(br, bhttp.Limits{MaxFieldSectionSize: t.maxHeader()}),
		wbuf: make([]byte, 0, 512),
	}
}

func (cc *clientConn) roundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	b := cc.wbuf[:0]
	if !cc.prefaceSent {
		b = append(b, magic[:]...)
		b = append(b, minProtocolVersion, ProtocolVersion)
	}
	head := httpmsg.ClientRequestHead(req)
	body := req.Body
	if body == http.NoBody {
		body = nil
	}
	if body != nil && req.ContentLength > 0 {
		head.ContentLength = req.ContentLength
	}
	b, err := bhttp.AppendRequestHead(b, &head)
	if err != nil {
		cc.nc.Close()
		return nil, fmt.Errorf("httpipc: %w", err)
	}
	inline := body == nil || req.GetBody != nil && req.ContentLength >= 0 && req.ContentLength <= inlineBodyMax
	if inline && body != nil {
		if b, err = appendBody(b, body, req.ContentLength); err != nil {
			cc.nc.Close()
			return nil, err
		}
	}
	if inline {
		if b, err = bhttp.AppendEnd(b, req.Trailer); err != nil {
			cc.nc.Close()
			return nil, fmt.Errorf("httpipc: request trailer: %w", err)
		}
	}
	cc.wbuf = b

	// The response body is allocated now: it holds the flag the context's
	// end sets.
	rb := &responseBody{cc: cc, ctx: ctx, keep: !req.Close}
	aborted := &rb.aborted
	stop := noStop
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() {
			aborted.Store(true)
			cc.nc.Close()
		})
	}
	fail := func(err error) (*http.Response, error) {
		stop()
		cc.nc.Close()
		if ctx.Err() != nil && aborted.Load() {
			return nil, fmt.Errorf("httpipc: %w", context.Cause(ctx))
		}
		return nil, err
	}
	n, err := cc.nc.Write(b)
	cc.prefaceSent = true
	if err != nil && !cc.prefaceRead {
		// A provider refuses a peer or a connection over its caps before
		// reading anything (docs/PROTOCOL.md, section 6), so the write
		// can fail with its refusal waiting to be read.
		_ = cc.nc.SetReadDeadline(time.Now().Add(time.Second))
		if rerr := cc.readPreface(); errors.Is(rerr, ErrRefused) {
			return fail(rerr)
		}
	}
	if err != nil {
		if n == 0 {
			return fail(&notSentError{err})
		}
		return fail(fmt.Errorf("httpipc: sending request: %w", err))
	}
	var writeDone chan error
	if !inline {
		writeDone = make(chan error, 1)
		go func() { writeDone <- cc.writeBody(body, req.Trailer, req.ContentLength, &rb.sent) }()
	}

	if _, err := cc.br.Peek(1); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
			return fail(&connLostError{err})
		}
		return fail(fmt.Errorf("httpipc: reading response: %w", err))
	}
	if !cc.prefaceRead {
		if err := cc.readPreface(); err != nil {
			return fail(err)
		}
	}
	if req.Method == http.MethodHead {
		cc.dec.ExpectHeadResponse()
	}
	rh, err := cc.dec.ReadResponseHead(got1xx(ctx))
	if err != nil {
		return fail(responseError(err))
	}
	resp := httpmsg.NewResponse(req, rh)
	rb.stop, rb.writeDone, rb.resp = stop, writeDone, resp
	if req.Method == http.MethodHead || cc.dec.SkipEmptyContent() {
		resp.Body = http.NoBody
		if req.Method == http.MethodHead && !cc.dec.SkipEmptyContent() {
			if !cc.dec.Discard(0) {
				return fail(fmt.Errorf("%w: response to HEAD has content", ErrProtocol))
			}
		}
		rb.done()
		return resp, nil
	}
	resp.Body = rb
	return resp, nil
}

// noStop is the stop function of a request whose context cannot end.
func noStop() bool { return true }

// readPreface reads the server preface that precedes the first response.
func (cc *clientConn) readPreface() error {
	p, err := cc.br.Peek(prefaceLen + 1)
	if err != nil {
		return fmt.Errorf("%w: reading server preface: %v", ErrProtocol, err)
	}
	if [prefaceLen]byte(p[:prefaceLen]) != magic {
		return fmt.Errorf("%w: the peer did not answer with the httpipc preface (got % x); is it an httpipc provider?", ErrProtocol, p)
	}
	v := p[prefaceLen]
	_, _ = cc.br.Discard(prefaceLen + 1)
	if v == versionRefused {
		n, err := bhttp.ReadVarint(cc.br)
		if err != nil || n > maxRefusalReason {
			return fmt.Errorf("%w: (no reason given)", ErrRefused)
		}
		reason := make([]byte, n)
		if _, err := io.ReadFull(cc.br, reason); err != nil {
			return fmt.Errorf("%w: (no reason given)", ErrRefused)
		}
		return fmt.Errorf("%w: %s", ErrRefused, reason)
	}
	if v < minProtocolVersion || v > ProtocolVersion {
		return fmt.Errorf("%w: provider chose protocol version %d, which was not offered", ErrProtocol, v)
	}
	cc.prefaceRead = true
	return nil
}

// appendBody appends a body that is already in memory (the request has
// GetBody) as one chunk, and closes it.
func appendBody(b []byte, body io.ReadCloser, n int64) ([]byte, error) {
	defer body.Close()
	start := len(b)
	if n > 0 {
		b = bhttp.AppendChunkHeader(b, int(n))
	}
	data := len(b)
	b = slices.Grow(b, int(n)+1)[:data+int(n)+1]
	got, err := io.ReadFull(body, b[data:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return b[:start], fmt.Errorf("httpipc: reading request body: %w", err)
	}
	if int64(got) != n {
		return b[:start], fmt.Errorf("httpipc: request body has %s bytes, ContentLength says %d", countString(got, n), n)
	}
	return b[:data+int(n)], nil
}

func countString(got int, n int64) string {
	if int64(got) > n {
		return "more than " + strconv.FormatInt(n, 10)
	}
	return strconv.Itoa(got)
}

// writeBody streams a request body as chunks, then the trailer section.
func (cc *clientConn) writeBody(body io.ReadCloser, trailer http.Header, contentLength int64, sent *atomic.Bool) error {
	defer body.Close()
	const hdr = 4 // room for the varint of a chunkSize length
	size := chunkSize
	if contentLength > 0 && contentLength < chunkSize {
		// A small body of known length needs no 32 KiB buffer; one byte
		// more lets the read that fills it see the end. (Zero with a body
		// means unknown, as in net/http.)
		size = int(contentLength) + 1
	}
	buf := make([]byte, hdr+size)
	for {
		n, rerr := body.Read(buf[hdr:])
		if n > 0 {
			l := bhttp.VarintLen(uint64(n))
			bhttp.AppendVarint(buf[hdr-l:hdr-l], uint64(n))
			if _, err := cc.nc.Write(buf[hdr-l : hdr+n]); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			// Leave the message incomplete: the provider sees the request fail.
			cc.nc.Close()
			return fmt.Errorf("httpipc: reading request body: %w", rerr)
		}
	}
	end, err := bhttp.AppendEnd(nil, trailer)
	if err != nil {
		cc.nc.Close()
		return err
	}
	if _, err = cc.nc.Write(end); err == nil {
		sent.Store(true)
	}
	return err
}

// responseError maps a decoding error to what the caller sees.
func responseError(err error) error {
	if errors.Is(err, bhttp.ErrMalformed) || errors.Is(err, bhttp.ErrTooLarge) {
		return fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	return fmt.Errorf("httpipc: reading response: %w", err)
}

// responseBody streams a response's content from the connection.
type responseBody struct {
	cc        *clientConn
	stop      func() bool
	writeDone chan error
	resp      *http.Response
	ctx       context.Context
	aborted   atomic.Bool
	sent      atomic.Bool // the request content's writer made its last write
	keep      bool

	mu       sync.Mutex
	finished bool
	err      error
}

func (rb *responseBody) Read(p []byte) (int, error) {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	if rb.err != nil {
		return 0, rb.err
	}
	n, err := rb.cc.dec.Read(p)
	switch {
	case err == io.EOF:
		// As net/http does, Trailer is made when trailers arrive.
		for k, v := range rb.cc.dec.Trailer() {
			if rb.resp.Trailer == nil {
				rb.resp.Trailer = make(http.Header)
			}
			rb.resp.Trailer[k] = v
		}
		rb.err = io.EOF
		rb.done()
	case err != nil:
		if rb.aborted.Load() {
			err = fmt.Errorf("httpipc: %w", context.Cause(rb.ctx))
		} else if !errors.Is(err, net.ErrClosed) {
			err = responseError(err)
		}
		rb.err = err
		rb.finished = true
		rb.stop()
		rb.cc.nc.Close()
	}
	return n, err
}

// Close ends the response. Closing before the content was read to the end
// closes the connection, which cancels the request on the provider.
func (rb *responseBody) Close() error {
	rb.mu.Lock()
	if rb.finished {
		rb.mu.Unlock()
		return nil
	}
	rb.finished = true
	rb.err = errors.New("httpipc: read on closed response body")
	rb.mu.Unlock()
	rb.stop()
	return rb.cc.nc.Close()
}

// done releases the connection after the whole response was read.
func (rb *responseBody) done() {
	rb.finished = true
	if !rb.stop() && rb.aborted.Load() {
		return // the context ended and closed the connection
	}
	ok := rb.keep
	if rb.writeDone != nil {
		select {
		case err := <-rb.writeDone:
			ok = ok && err == nil
		default:
			if rb.sent.Load() {
				// The writer made its last write; what it has left
				// (closing the request body, which may take its time,
				// and reporting) does not touch the connection.
				break
			}
			// The response is complete before the request content was
			// sent whole: stop sending (docs/PROTOCOL.md, section 7).
			// Closing the connection ends the writer; its error is not
			// this request's failure.
			ok = false
		}
	}
	if ok && rb.cc.t.MaxIdleConns >= 0 {
		rb.cc.t.putConn(rb.cc)
	} else {
		rb.cc.nc.Close()
	}
}
