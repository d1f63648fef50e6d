package httpmsg

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strconv"

	"github.com/httpipc/httpipc/bhttp"
)

// The HTTP mapping of docs/PROTOCOL.md, section 3: how a decoded message
// becomes the *http.Request or *http.Response that Go code sees, and back.
// The stream server and client and message mode all go through here, so a
// rule is written once.

// NewRequest builds the request a handler sees for a decoded request head
// (docs/PROTOCOL.md, section 3, rule 4): the path must be in origin form or
// "*"; the authority is the request's Host, or the host field when the
// authority is empty, and a host field is removed from the header either
// way; ContentLength comes from the framing, else from the Content-Length
// field, else it is -1. The request has no Body, RemoteAddr or TLS: the
// caller sets the first two. The error, for a path that is not in origin
// form, is for a 400 malformed.
func NewRequest(ctx context.Context, head *bhttp.RequestHead) (*http.Request, error) {
	var u *url.URL
	if head.Path == "*" {
		u = &url.URL{Path: "*"}
	} else {
		if head.Path == "" || head.Path[0] != '/' {
			return nil, fmt.Errorf("path %q is not in origin form", head.Path)
		}
		var err error
		if u, err = url.ParseRequestURI(head.Path); err != nil {
			return nil, fmt.Errorf("path %q: %v", head.Path, err)
		}
	}
	h := head.Header
	if h == nil {
		h = make(http.Header)
	}
	host := head.Authority
	if hv, ok := h["Host"]; ok {
		if host == "" && len(hv) > 0 {
			host = hv[0]
		}
		delete(h, "Host")
	}
	req := &http.Request{
		Method:     head.Method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		Host:       host,
		RequestURI: head.Path,
		Body:       http.NoBody,
	}
	if head.ContentLength >= 0 {
		req.ContentLength = head.ContentLength
	} else if cl := first(h, "Content-Length"); cl != "" {
		req.ContentLength, _ = strconv.ParseInt(cl, 10, 64)
	} else {
		req.ContentLength = -1
	}
	return req.WithContext(ctx), nil
}

// ClientRequestHead returns the control data and header section a client
// sends for req (docs/PROTOCOL.md, section 3, rule 4): the method, GET when
// empty; the URL's scheme, "http" when empty; req.Host, else the URL's
// host, as the authority; the URL's path and query. ContentLength is left
// at zero, for the caller to set when it frames the content.
func ClientRequestHead(req *http.Request) bhttp.RequestHead {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	scheme := req.URL.Scheme
	if scheme == "" {
		scheme = "http"
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	return bhttp.RequestHead{Method: method, Scheme: scheme, Authority: host,
		Path: req.URL.RequestURI(), Header: req.Header}
}

// NewResponse builds the response a client returns for a decoded response
// head to req. ContentLength comes from the framing, else from the
// Content-Length field, else it is -1; for a response to HEAD the field
// comes first, since it gives the length of the representation, not of the
// (empty) content. The caller sets Body and Trailer.
func NewResponse(req *http.Request, head *bhttp.ResponseHead) *http.Response {
	resp := &http.Response{
		Status:        StatusLine(head.Status),
		StatusCode:    head.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        head.Header,
		ContentLength: head.ContentLength,
		Request:       req,
	}
	if resp.Header == nil {
		resp.Header = make(http.Header)
	}
	if resp.ContentLength < 0 || req.Method == http.MethodHead {
		if cl := first(resp.Header, "Content-Length"); cl != "" {
			if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
				resp.ContentLength = n
			}
		}
	}
	return resp
}

// StatusLine returns "200 OK" and the like, without allocating for the
// common codes.
func StatusLine(code int) string {
	switch code {
	case 200:
		return "200 OK"
	case 201:
		return "201 Created"
	case 204:
		return "204 No Content"
	case 304:
		return "304 Not Modified"
	case 400:
		return "400 Bad Request"
	case 404:
		return "404 Not Found"
	}
	return strconv.Itoa(code) + " " + http.StatusText(code)
}

// HeaderAction tells a response writer what a handler's WriteHeader means.
type HeaderAction uint8

// What ResponseState.WriteHeader decided.
const (
	// Superfluous: the final status was chosen before; the call is ignored.
	Superfluous HeaderAction = iota
	// Informational: send an informational (1xx) response with the
	// handler's header now (section 3, rule 7).
	Informational
	// Final: the final status is set; the head goes out with the first
	// content, a flush or the end of the handler.
	Final
	// Replaced: as Final, but the handler's status cannot be carried (101,
	// or above 599) and 500 was set in its place (section 3, rule 4); the
	// writer logs it.
	Replaced
)

// ResponseState is what a response writer has decided about the response a
// handler is writing. The stream server, which sends as it goes, and
// message mode, which sends the whole message at the end, differ in how
// they buffer; the rules of WriteHeader and Write are the same for both and
// are these methods.
type ResponseState struct {
	// Header is the handler's header map.
	Header http.Header
	// Status is the final status, once WroteHeader is set.
	Status int
	// WroteHeader is set once the final status is chosen.
	WroteHeader bool
	// NoBody is set for a response without content: to HEAD, a 204 or a
	// 304 (section 3, rule 6).
	NoBody bool
	// Declared is the Content-Length the handler set when it chose the
	// final status, or -1.
	Declared int64
	// Written counts the content bytes the writer took.
	Written int64
	// SniffPending is set at the first content if the handler set no
	// Content-Type (not even one without a value), no Content-Encoding and
	// no Transfer-Encoding: the writer then keeps the first SniffLen bytes
	// of content, or all of it if there is less, and passes them to Sniff
	// before it sends the head, as net/http does with its buffer.
	SniffPending bool

	head bool
}

// SniffLen is how much content, at most, a Content-Type is sniffed from.
const SniffLen = 512

// Sniff sets the Content-Type sniffed from the first content, prefix, if
// one is pending.
func (r *ResponseState) Sniff(prefix []byte) {
	if r.SniffPending {
		r.SniffPending = false
		r.Header["Content-Type"] = []string{http.DetectContentType(prefix)}
	}
}

// NewResponseState returns the state of a response to a request with
// method.
func NewResponseState(method string) ResponseState {
	return ResponseState{Header: make(http.Header, 4), Declared: -1, head: method == http.MethodHead}
}

// WriteHeader applies the status rules to the code a handler passes to
// WriteHeader. Like net/http it panics for a code outside 100-999.
func (r *ResponseState) WriteHeader(code int) HeaderAction {
	if r.WroteHeader {
		return Superfluous
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		return Informational
	}
	action := Final
	if code == http.StatusSwitchingProtocols || code > 599 {
		code, action = http.StatusInternalServerError, Replaced
	}
	r.WroteHeader, r.Status = true, code
	r.NoBody = r.head || code == http.StatusNoContent || code == http.StatusNotModified
	if cl := first(r.Header, "Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			r.Declared = n
		}
	}
	return action
}

// CheckWrite applies the rules of a Write of p, once the final status is
// chosen, and reports whether p is to be written. As in net/http, an empty
// write does nothing (in particular, it does not send the head); otherwise
// there is no content for a 204 and a 304 (http.ErrBodyNotAllowed), none
// past the declared Content-Length (http.ErrContentLength), and the first
// content before the head is sent decides SniffPending. Content for HEAD is
// taken and dropped, after it has served for sniffing, as net/http does:
// write is false and err nil, and the writer returns len(p). The writer adds
// what it took to Written.
func (r *ResponseState) CheckWrite(p []byte, headSent bool) (write bool, err error) {
	switch {
	case len(p) == 0:
		return false, nil
	case r.Status == http.StatusNoContent || r.Status == http.StatusNotModified:
		return false, http.ErrBodyNotAllowed
	case r.Declared >= 0 && r.Written+int64(len(p)) > r.Declared:
		return false, http.ErrContentLength
	}
	if !headSent && r.Written == 0 {
		// As net/http: a Content-Type key, even without a value, turns
		// sniffing off, and so do a Content-Encoding and a
		// Transfer-Encoding.
		_, typed := r.Header["Content-Type"]
		r.SniffPending = !typed && first(r.Header, "Content-Encoding") == "" && first(r.Header, "Transfer-Encoding") == ""
	}
	return !r.head, nil
}

// first returns the first value of the canonical key in h, as h.Get does
// without canonicalizing key again.
func first(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// ResponseHeader returns the header section to send: the handler's header
// without the keys it meant as trailers (a copy when there are any).
func ResponseHeader(h http.Header) http.Header {
	names := TrailerNames(h)
	if len(names) == 0 {
		return h
	}
	h = h.Clone()
	for _, n := range names {
		delete(h, n)
	}
	return h
}

// Panic is a handler's panic that CallHandler recovered.
type Panic struct {
	// Value is what the handler panicked with.
	Value any
	// Stack is the handler's stack at the panic, for the log; empty for
	// http.ErrAbortHandler, which aborts the response on purpose and is not
	// logged (as in net/http).
	Stack string
}

// CallHandler runs h for r and recovers a panic in it, which it returns;
// nil means the handler returned. The provider answers a panic 500
// handler-panic if the handler had not started its response.
func CallHandler(h http.Handler, w http.ResponseWriter, r *http.Request) (p *Panic) {
	defer func() {
		if v := recover(); v != nil {
			p = &Panic{Value: v}
			if v != http.ErrAbortHandler {
				buf := make([]byte, 16<<10)
				p.Stack = string(buf[:runtime.Stack(buf, false)])
			}
		}
	}()
	h.ServeHTTP(w, r)
	return nil
}
