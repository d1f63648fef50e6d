// Package httpmsg holds the HTTP message conventions that the stream
// protocol and message mode share: which header keys a handler meant as
// trailers, and the responses a provider generates itself for protocol
// errors.
package httpmsg

import (
	"net/http"
	"strings"

	"github.com/httpipc/httpipc/bhttp"
)

// ErrorField names the field a provider adds to a response it generates
// itself for a protocol error (docs/PROTOCOL.md, section 4).
const ErrorField = "Httpipc-Error"

// The values of ErrorField: one table of them is in docs/PROTOCOL.md,
// section 4.
const (
	CodeMalformed        = "malformed"          // 400: the request could not be decoded
	CodeForbidden        = "forbidden"          // 403: message mode, the caller's policy refused it
	CodeTooLarge         = "too-large"          // 413 or 431: a body or field section over a limit
	CodeHandlerPanic     = "handler-panic"      // 500: the handler panicked before answering
	CodeResponseTooLarge = "response-too-large" // 500: message mode, the response exceeds the limit
	CodeInvalidResponse  = "invalid-response"   // 500: the handler's response head cannot be encoded (an invalid field)
	CodeTooMany          = "too-many"           // 503: message mode, a channel over the provider's cap
	CodeUpstream         = "upstream-failed"    // 502: an adapter (httpipc serve) could not reach its upstream
)

// TrailerNames lists the header keys a handler means as trailers: those
// named in its Trailer field and those with http.TrailerPrefix.
func TrailerNames(h http.Header) []string {
	var names []string
	for _, v := range h["Trailer"] {
		for _, n := range strings.Split(v, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, http.CanonicalHeaderKey(n))
			}
		}
	}
	for k := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			names = append(names, k)
		}
	}
	return names
}

// Trailer collects the trailer values a handler set in h.
func Trailer(h http.Header, names []string) http.Header {
	var t http.Header
	for _, n := range names {
		if v, ok := h[n]; ok {
			if t == nil {
				t = http.Header{}
			}
			t[strings.TrimPrefix(n, http.TrailerPrefix)] = v
		}
	}
	return t
}

// AppendErrorResponse appends the final head, content and end of a response
// a provider generates for a protocol error: status, an httpipc-error field
// with code, and msg as text.
func AppendErrorResponse(b []byte, status int, code, msg string) []byte {
	h := http.Header{
		"Content-Type":  {"text/plain; charset=utf-8"},
		ErrorField:      {code},
		"Cache-Control": {"no-store"},
	}
	b, _ = bhttp.AppendResponseHead(b, status, h)
	b = bhttp.AppendChunk(b, []byte(msg+"\n"))
	b, _ = bhttp.AppendEnd(b, nil)
	return b
}
