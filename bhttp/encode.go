package bhttp

import (
	"errors"
	"fmt"
	"net/http"
)

// RequestHead is the part of a request that comes before its content: the
// control data of RFC 9292 Section 3.4 and the header section.
type RequestHead struct {
	Method    string
	Scheme    string
	Authority string
	Path      string // origin-form path and query, "*" for a server-wide OPTIONS
	Header    http.Header

	// ContentLength is the length of the content when it is known. The
	// decoder sets it for known-length framing, and to -1 otherwise. The
	// encoder adds a content-length field when it is positive and Header has
	// no Content-Length.
	ContentLength int64
}

// AppendRequestHead appends the start of an indeterminate-length request:
// framing indicator, control data and header section. The content follows as
// chunks (AppendChunk) and ends with AppendEnd. Hop-by-hop fields of h are
// left out.
func AppendRequestHead(b []byte, h *RequestHead) ([]byte, error) {
	if err := checkControl(h); err != nil {
		return b, err
	}
	b = append(b, IndeterminateLengthRequest)
	for _, s := range [...]string{h.Method, h.Scheme, h.Authority, h.Path} {
		b = AppendVarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	cl := int64(-1)
	if h.ContentLength > 0 {
		cl = h.ContentLength
	}
	b, err := appendFieldLines(b, h.Header, true, cl)
	if err != nil {
		return b, err
	}
	return append(b, 0), nil
}

// AppendResponseStart appends the framing indicator of an
// indeterminate-length response. Informational responses (AppendInformational)
// and then the final response head (AppendResponseHead) follow.
func AppendResponseStart(b []byte) []byte {
	return append(b, IndeterminateLengthResponse)
}

// AppendInformational appends an informational (1xx) response with its
// header section.
func AppendInformational(b []byte, status int, h http.Header) ([]byte, error) {
	if status < informationalMin || status >= finalMin {
		return b, fmt.Errorf("bhttp: informational status %d is not in 100-199", status)
	}
	return appendStatusFields(b, status, h)
}

// AppendResponseHead appends the final status code and header section of a
// response. Hop-by-hop fields of h are left out.
func AppendResponseHead(b []byte, status int, h http.Header) ([]byte, error) {
	if status < finalMin || status > finalMax {
		return b, fmt.Errorf("bhttp: final status %d is not in 200-599", status)
	}
	return appendStatusFields(b, status, h)
}

func appendStatusFields(b []byte, status int, h http.Header) ([]byte, error) {
	b = AppendVarint(b, uint64(status))
	b, err := appendFieldLines(b, h, true, -1)
	if err != nil {
		return b, err
	}
	return append(b, 0), nil
}

// AppendChunk appends p as one content chunk of an indeterminate-length
// message. An empty p appends nothing, since a zero length would end the
// content.
func AppendChunk(b, p []byte) []byte {
	if len(p) == 0 {
		return b
	}
	b = AppendVarint(b, uint64(len(p)))
	return append(b, p...)
}

// AppendChunkHeader appends only the length prefix of a chunk of n bytes, for
// callers that write the chunk's bytes themselves. n must not be zero.
func AppendChunkHeader(b []byte, n int) []byte {
	return AppendVarint(b, uint64(n))
}

// AppendEnd ends the content of an indeterminate-length message and appends
// its trailer section. The message is then complete.
func AppendEnd(b []byte, trailer http.Header) ([]byte, error) {
	b = append(b, 0)
	b, err := appendFieldLines(b, trailer, false, -1)
	if err != nil {
		return b, err
	}
	return append(b, 0), nil
}

func checkControl(h *RequestHead) error {
	if h.Method == "" {
		return errors.New("bhttp: empty method")
	}
	for i := 0; i < len(h.Method); i++ {
		if !tokenChar(h.Method[i]) {
			return fmt.Errorf("bhttp: method %q is not a token", h.Method)
		}
	}
	if err := checkTarget("scheme", h.Scheme); err != nil {
		return err
	}
	if err := checkTarget("authority", h.Authority); err != nil {
		return err
	}
	if h.Path == "" {
		return errors.New("bhttp: empty path")
	}
	return checkTarget("path", h.Path)
}

// checkTarget rejects control characters, spaces and DEL in scheme, authority
// and path, so a request can never be split when turned into HTTP/1.1.
func checkTarget(what, s string) error {
	if len(s) > maxControlDataFieldSize {
		return fmt.Errorf("bhttp: %s is longer than %d bytes", what, maxControlDataFieldSize)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return fmt.Errorf("bhttp: %s %q contains a control character or space", what, s)
		}
	}
	return nil
}
