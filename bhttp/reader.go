package bhttp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

type readState uint8

const (
	stateIdle    readState = iota // between messages
	stateContent                  // inside the content
	stateDone                     // content and trailers read; Read gives io.EOF
	stateFailed                   // the stream is unusable
)

// Reader decodes a sequence of complete messages from a buffered stream.
//
// Call ReadRequestHead or ReadResponseHead, then Read the content until
// io.EOF, at which point Trailer holds the trailer section and the Reader is
// positioned at the start of the next message. A Reader is not safe for
// concurrent use.
type Reader struct {
	br  *bufio.Reader
	lim Limits

	// truncOK allows the end of the input to end the message early, as RFC
	// 9292 allows for a message held whole in memory.
	truncOK bool

	state   readState
	known   bool   // known-length content
	remain  uint64 // bytes left in the current chunk or the known-length content
	total   int64  // content bytes delivered so far
	want    int64  // Content-Length the header section announced, or -1
	head    bool   // the next response answers a HEAD request
	trailer http.Header
	err     error
	scratch []byte
	vals    []byte      // field values of the section being read
	lines   []fieldLine // field lines of the section being read
}

// NewReader returns a Reader that decodes messages from br within lim.
func NewReader(br *bufio.Reader, lim Limits) *Reader {
	return &Reader{br: br, lim: lim}
}

// Buffered reports how many bytes the underlying reader holds that have not
// been decoded yet.
func (r *Reader) Buffered() int { return r.br.Buffered() }

// ReadRequestHead reads the framing indicator, control data and header
// section of the next message, which must be a request. At the clean end of
// the stream, before any byte of a message, it returns io.EOF.
func (r *Reader) ReadRequestHead() (*RequestHead, error) {
	if err := r.begin(); err != nil {
		return nil, err
	}
	fi, err := r.br.ReadByte()
	if err != nil {
		return nil, r.fail(err)
	}
	if fi != KnownLengthRequest && fi != IndeterminateLengthRequest {
		return nil, r.fail(malformed("framing indicator %d is not a request", fi))
	}
	r.known = fi == KnownLengthRequest
	budget := r.lim.fieldSection()
	// The four fields are gathered in one buffer and become strings with
	// one allocation.
	var ends [4]int
	r.vals = r.vals[:0]
	for i, what := range [...]string{"method", "scheme", "authority", "path"} {
		b, err := r.readControl(what, &budget)
		if err != nil {
			return nil, r.fail(err)
		}
		r.vals = append(r.vals, b...)
		ends[i] = len(r.vals)
	}
	all := string(r.vals)
	h := &RequestHead{Method: all[:ends[0]], Scheme: all[ends[0]:ends[1]], Authority: all[ends[1]:ends[2]], Path: all[ends[2]:ends[3]]}
	if err := checkControl(h); err != nil {
		return nil, r.fail(fmt.Errorf("%w: %s", ErrMalformed, err.Error()[len("bhttp: "):]))
	}
	if h.Header, err = r.readFields("header section", budget); err != nil {
		return nil, r.fail(err)
	}
	if h.ContentLength, err = r.startContent(h.Header, false); err != nil {
		return nil, r.fail(err)
	}
	return h, nil
}

// ResponseHead is the final status and header section of a response.
type ResponseHead struct {
	Status int
	Header http.Header
	// ContentLength is the length of the content when the message used
	// known-length framing, and -1 otherwise.
	ContentLength int64
}

// ExpectHeadResponse tells the Reader that the next response answers a
// HEAD request: its content must be empty, whatever its Content-Length
// says.
func (r *Reader) ExpectHeadResponse() { r.head = true }

// ReadResponseHead reads the next message, which must be a response, up to
// its content. Each informational (1xx) response before the final one is
// passed to info, which may be nil; an error from info stops decoding.
func (r *Reader) ReadResponseHead(info func(status int, h http.Header) error) (*ResponseHead, error) {
	if err := r.begin(); err != nil {
		return nil, err
	}
	fi, err := r.br.ReadByte()
	if err != nil {
		return nil, r.fail(err)
	}
	if fi != KnownLengthResponse && fi != IndeterminateLengthResponse {
		return nil, r.fail(malformed("framing indicator %d is not a response", fi))
	}
	r.known = fi == KnownLengthResponse
	for n := 0; ; n++ {
		st, err := ReadVarint(r.br)
		if err != nil {
			return nil, r.fail(unexpected(err, "status code"))
		}
		if st < informationalMin || st > finalMax {
			return nil, r.fail(malformed("status code %d is not in 100-599", st))
		}
		h, err := r.readFields("header section", r.lim.fieldSection())
		if err != nil {
			return nil, r.fail(err)
		}
		if st >= finalMin {
			resp := &ResponseHead{Status: int(st), Header: h}
			// A response to HEAD, a 204 and a 304 have no content; the
			// Content-Length of HEAD and 304 describes the representation
			// (RFC 9110 sections 8.6, 9.3.2, 15.4.5).
			noContent := r.head || st == http.StatusNoContent || st == http.StatusNotModified
			r.head = false
			if resp.ContentLength, err = r.startContent(h, noContent); err != nil {
				return nil, r.fail(err)
			}
			return resp, nil
		}
		if n >= maxInformationalPerResponse {
			return nil, r.fail(tooLarge("more than %d informational responses", maxInformationalPerResponse))
		}
		if info != nil {
			if err := info(int(st), h); err != nil {
				return nil, r.fail(err)
			}
		}
	}
}

// Read reads the content of the current message. It returns io.EOF once the
// content and the trailer section have been read.
func (r *Reader) Read(p []byte) (int, error) {
	switch r.state {
	case stateDone:
		return 0, io.EOF
	case stateFailed:
		return 0, r.err
	case stateIdle:
		return 0, errors.New("bhttp: Read called before a message head was read")
	}
	if len(p) == 0 {
		return 0, nil
	}
	for r.remain == 0 {
		if r.known {
			return 0, r.finish()
		}
		n, err := ReadVarint(r.br)
		if err != nil {
			if err == io.EOF && r.truncOK {
				return 0, r.finish()
			}
			return 0, r.fail(unexpected(err, "content chunk length"))
		}
		if n == 0 {
			return 0, r.finish()
		}
		r.remain = n
	}
	if uint64(len(p)) > r.remain {
		p = p[:r.remain]
	}
	n, err := r.br.Read(p)
	r.remain -= uint64(n)
	r.total += int64(n)
	if r.want >= 0 && r.total > r.want {
		return n, r.fail(malformed("content is longer than its Content-Length %d", r.want))
	}
	if err != nil {
		return n, r.fail(unexpected(err, "content"))
	}
	return n, nil
}

// SkipEmptyContent reports whether the current message's content and
// trailer section are empty and already buffered, and if so consumes them, so
// the message is complete without a Read. It never blocks.
func (r *Reader) SkipEmptyContent() bool {
	if r.state != stateContent || r.remain != 0 || r.want > 0 {
		return false
	}
	need := 2
	if r.known {
		need = 1
	}
	if r.br.Buffered() < need {
		return false
	}
	b, _ := r.br.Peek(need)
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	_, _ = r.br.Discard(need)
	r.state = stateDone
	return true
}

// Trailer returns the trailer section of the message whose content was read
// to io.EOF, or nil.
func (r *Reader) Trailer() http.Header {
	return r.trailer
}

// Discard reads and drops the rest of the current message's content, at most
// max bytes. It reports whether the message ended, leaving the Reader at the
// start of the next one.
func (r *Reader) Discard(max int64) bool {
	if r.state == stateDone || r.state == stateIdle {
		return r.state != stateFailed
	}
	if r.scratch == nil {
		r.scratch = make([]byte, 4096)
	}
	for max >= 0 {
		n, err := r.Read(r.scratch)
		max -= int64(n)
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
	}
	return false
}

func (r *Reader) begin() error {
	switch r.state {
	case stateFailed:
		return r.err
	case stateContent:
		return errors.New("bhttp: the content of the previous message was not read to the end")
	}
	r.state = stateIdle
	r.trailer = nil
	r.total = 0
	r.remain = 0
	if _, err := r.br.Peek(1); err != nil {
		if err == io.EOF {
			return io.EOF
		}
		return r.fail(err)
	}
	return nil
}

func (r *Reader) fail(err error) error {
	if r.state != stateFailed {
		r.state = stateFailed
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		r.err = err
	}
	return r.err
}

// startContent positions the reader at the content and works out its length.
func (r *Reader) startContent(h http.Header, noContent bool) (int64, error) {
	r.state = stateContent
	r.want = -1
	if cl, ok := h["Content-Length"]; ok {
		if len(cl) != 1 {
			return 0, malformed("%d Content-Length fields", len(cl))
		}
		n, err := strconv.ParseUint(cl[0], 10, 63)
		if err != nil || cl[0] == "" || cl[0][0] == '+' {
			return 0, malformed("Content-Length %q is not a number", cl[0])
		}
		r.want = int64(n)
	}
	if noContent {
		r.want = 0
	}
	if !r.known {
		return -1, nil
	}
	n, err := ReadVarint(r.br)
	if err != nil {
		if err == io.EOF && r.truncOK {
			r.state = stateDone
			return 0, nil
		}
		return 0, unexpected(err, "content length")
	}
	if noContent && n != 0 {
		return 0, malformed("a response to HEAD, 204 or 304 with %d bytes of content", n)
	}
	if r.want >= 0 && int64(n) != r.want {
		return 0, malformed("content length %d disagrees with Content-Length %d", n, r.want)
	}
	r.remain = n
	return int64(n), nil
}

// finish reads the trailer section after the content.
func (r *Reader) finish() error {
	if r.want >= 0 && r.total != r.want {
		return r.fail(malformed("content of %d bytes is shorter than its Content-Length %d", r.total, r.want))
	}
	if r.truncOK {
		if _, err := r.br.Peek(1); err == io.EOF {
			r.state = stateDone
			return io.EOF
		}
	}
	t, err := r.readFields("trailer section", r.lim.fieldSection())
	if err != nil {
		return r.fail(err)
	}
	r.trailer = t
	r.state = stateDone
	return io.EOF
}

// readControl reads a length-prefixed control data field, valid until the
// next read.
func (r *Reader) readControl(what string, budget *int) ([]byte, error) {
	n, err := ReadVarint(r.br)
	if err != nil {
		return nil, unexpected(err, what)
	}
	if n > maxControlDataFieldSize {
		return nil, tooLarge("%s of %d bytes exceeds %d", what, n, maxControlDataFieldSize)
	}
	if int(n)+VarintLen(n) > *budget {
		return nil, tooLarge("request head exceeds the field section limit of %d bytes", r.lim.fieldSection())
	}
	*budget -= int(n) + VarintLen(n)
	b, err := r.readBytes(int(n))
	if err != nil {
		return nil, unexpected(err, what)
	}
	return b, nil
}

// readBytes returns the next n bytes, valid until the next read.
func (r *Reader) readBytes(n int) ([]byte, error) {
	if n <= r.br.Size() {
		b, err := r.br.Peek(n)
		if err != nil {
			return nil, err
		}
		_, _ = r.br.Discard(n)
		return b, nil
	}
	if cap(r.scratch) < n {
		r.scratch = make([]byte, n)
	}
	b := r.scratch[:n]
	_, err := io.ReadFull(r.br, b)
	return b, err
}

// readFields reads a field section in the framing of the current message.
func (r *Reader) readFields(what string, budget int) (http.Header, error) {
	limit := uint64(budget)
	if r.known {
		n, err := ReadVarint(r.br)
		if err != nil {
			return nil, unexpected(err, what+" length")
		}
		if n > limit {
			return nil, tooLarge("%s of %d bytes exceeds the limit of %d bytes", what, n, budget)
		}
		limit = n
	}
	// Values are gathered in one buffer and turned into strings with a
	// single allocation once the section is complete.
	r.vals = r.vals[:0]
	r.lines = r.lines[:0]
	used := uint64(0)
	for {
		if r.known && used == limit {
			break
		}
		nl, err := ReadVarint(r.br)
		if err != nil {
			return nil, unexpected(err, what)
		}
		used += uint64(VarintLen(nl))
		if nl == 0 {
			if r.known {
				return nil, malformed("empty field name in %s", what)
			}
			break
		}
		if nl > limit || used+nl > limit {
			return nil, r.sectionOverrun(what, budget)
		}
		used += nl
		nb, err := r.readBytes(int(nl))
		if err != nil {
			return nil, unexpected(err, what)
		}
		if err := validName(nb); err != nil {
			return nil, fmt.Errorf("%w: %s: %s", ErrMalformed, what, err)
		}
		name := canonicalName(nb)
		vl, err := ReadVarint(r.br)
		if err != nil {
			return nil, unexpected(err, what)
		}
		used += uint64(VarintLen(vl))
		if vl > limit || used+vl > limit {
			return nil, r.sectionOverrun(what, budget)
		}
		used += vl
		vb, err := r.readBytes(int(vl))
		if err != nil {
			return nil, unexpected(err, what)
		}
		if !validValue(vb) {
			return nil, malformed("%s: value of %q contains a control character other than HTAB", what, strings.ToLower(name))
		}
		r.lines = append(r.lines, fieldLine{name: name, end: len(r.vals) + len(vb)})
		r.vals = append(r.vals, vb...)
	}
	if len(r.lines) == 0 {
		return nil, nil
	}
	all := string(r.vals)
	strs := make([]string, len(r.lines))
	h := make(http.Header, len(r.lines))
	start := 0
	for i, l := range r.lines {
		strs[i] = all[start:l.end]
		start = l.end
		if vs, ok := h[l.name]; ok {
			h[l.name] = append(vs, strs[i])
		} else {
			h[l.name] = strs[i : i+1 : i+1]
		}
	}
	return h, nil
}

// fieldLine locates a decoded field value inside Reader.vals.
type fieldLine struct {
	name string
	end  int
}

func (r *Reader) sectionOverrun(what string, budget int) error {
	if r.known {
		return malformed("field line runs past the end of the %s", what)
	}
	return tooLarge("%s exceeds the limit of %d bytes", what, budget)
}

func unexpected(err error, what string) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: input ends inside the %s", io.ErrUnexpectedEOF, what)
	}
	return err
}
