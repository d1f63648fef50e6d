package message

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/bhttp"
	"github.com/httpipc/httpipc/internal/httpmsg"
	"github.com/httpipc/httpipc/peercred"
)

// Server runs an http.Handler for requests that arrive as whole messages.
// The zero value serves http.DefaultServeMux to peers of the same user with
// 256 KiB messages.
type Server struct {
	// Handler answers requests; nil means http.DefaultServeMux.
	Handler http.Handler
	// Policy decides which peers are served; nil means httpipc.SameUser.
	Policy httpipc.Policy
	// MaxMessageSize bounds request and response messages. Zero means
	// DefaultMaxMessageSize.
	MaxMessageSize int
	// MaxHeaderBytes bounds each field section. Zero means 64 KiB.
	MaxHeaderBytes int
	// Logger receives refusals, bad messages and handler panics. Nil means
	// slog.Default().
	Logger *slog.Logger

	// ConnIdleTimeout, MaxConns and MaxConnsPerUser bound the channels the
	// server accepts itself (ServeSeqPacket), with the defaults and
	// meanings of httpipc.Server's fields of those names: a channel idle
	// for 2 minutes is closed, and at most 1024 are open, 256 per user.
	ConnIdleTimeout time.Duration
	MaxConns        int
	MaxConnsPerUser int
}

// policy returns the Policy, SameUser when nil.
func (s *Server) policy() httpipc.Policy {
	if s.Policy == nil {
		return httpipc.SameUser()
	}
	return s.Policy
}

func (s *Server) max() int {
	if s.MaxMessageSize > 0 {
		return s.MaxMessageSize
	}
	return DefaultMaxMessageSize
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// ServeMessage decodes one request message from peer, runs the handler and
// returns the response message. It always returns a response: errors become
// responses with an httpipc-error field (400 malformed, 403 forbidden, 413
// too-large, 431 too-large, 500 response-too-large or handler-panic). The
// handler's context ends when ctx does.
func (s *Server) ServeMessage(ctx context.Context, peer *peercred.Creds, req []byte) []byte {
	if err := s.policy()(peer); err != nil {
		s.logger().Warn("message: peer refused", "peer", peer.String(), "reason", err)
		return errorResponse(http.StatusForbidden, httpmsg.CodeForbidden, err.Error())
	}
	if len(req) > s.max() {
		return errorResponse(http.StatusRequestEntityTooLarge, httpmsg.CodeTooLarge,
			fmt.Sprintf("request message of %d bytes exceeds the limit of %d", len(req), s.max()))
	}
	msg, err := bhttp.DecodeRequest(req, bhttp.Limits{MaxFieldSectionSize: s.MaxHeaderBytes})
	if err != nil {
		status, code := http.StatusBadRequest, httpmsg.CodeMalformed
		if errors.Is(err, bhttp.ErrTooLarge) {
			status, code = http.StatusRequestHeaderFieldsTooLarge, httpmsg.CodeTooLarge
		}
		s.logger().Warn("message: bad request", "peer", peer.String(), "err", err)
		return errorResponse(status, code, err.Error())
	}
	hr, err := newRequest(httpipc.ContextWithPeer(ctx, peer), peer, msg)
	if err != nil {
		return errorResponse(http.StatusBadRequest, httpmsg.CodeMalformed, err.Error())
	}
	w := &responseWriter{header: make(http.Header), max: s.max(), head: hr.Method == http.MethodHead}
	if panicked := s.run(w, hr); panicked {
		return errorResponse(http.StatusInternalServerError, httpmsg.CodeHandlerPanic, "internal server error")
	}
	out, err := w.encode()
	if err != nil {
		code := httpmsg.CodeInvalidResponse
		if errors.Is(err, ErrTooLarge) {
			code = httpmsg.CodeResponseTooLarge
		}
		s.logger().Warn("message: response cannot be sent", "path", hr.URL.Path, "err", err)
		return errorResponse(http.StatusInternalServerError, code, err.Error())
	}
	return out
}

func (s *Server) run(w *responseWriter, r *http.Request) (panicked bool) {
	defer func() {
		if v := recover(); v != nil {
			panicked = true
			if v != http.ErrAbortHandler {
				buf := make([]byte, 16<<10)
				buf = buf[:runtime.Stack(buf, false)]
				s.logger().Error("message: handler panic", "path", r.URL.Path, "panic", v, "stack", string(buf))
			}
		}
	}()
	h := s.Handler
	if h == nil {
		h = http.DefaultServeMux
	}
	h.ServeHTTP(w, r)
	return false
}

func newRequest(ctx context.Context, peer *peercred.Creds, m *bhttp.Request) (*http.Request, error) {
	var u *url.URL
	if m.Path == "*" {
		u = &url.URL{Path: "*"}
	} else {
		var err error
		if !strings.HasPrefix(m.Path, "/") {
			return nil, fmt.Errorf("path %q is not in origin form", m.Path)
		}
		if u, err = url.ParseRequestURI(m.Path); err != nil {
			return nil, fmt.Errorf("path %q: %v", m.Path, err)
		}
	}
	h := m.Header
	if h == nil {
		h = make(http.Header)
	}
	host := m.Authority
	if host == "" {
		host = h.Get("Host")
	}
	delete(h, "Host")
	r := &http.Request{
		Method: m.Method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Host: host, RemoteAddr: peer.String(), RequestURI: m.Path,
		Body: http.NoBody, ContentLength: int64(len(m.Content)), Trailer: m.Trailer,
	}
	if len(m.Content) > 0 {
		r.Body = nopCloser{bytes.NewReader(m.Content)}
	}
	return r.WithContext(ctx), nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// responseWriter collects a whole response, refusing to grow past max.
type responseWriter struct {
	header      http.Header
	status      int
	info        []bhttp.Informational
	body        bytes.Buffer
	max         int
	head        bool
	wroteHeader bool
	tooBig      bool
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		w.info = append(w.info, bhttp.Informational{Status: code, Header: w.header.Clone()})
		return
	}
	if code > 599 || code == http.StatusSwitchingProtocols {
		code = http.StatusInternalServerError
	}
	w.status, w.wroteHeader = code, true
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.head || w.status == http.StatusNoContent || w.status == http.StatusNotModified {
		return 0, http.ErrBodyNotAllowed
	}
	if w.body.Len() == 0 && w.header.Get("Content-Type") == "" && w.header.Get("Content-Encoding") == "" && len(p) > 0 {
		w.header.Set("Content-Type", http.DetectContentType(p))
	}
	if w.body.Len()+len(p) > w.max {
		w.tooBig = true
		return 0, fmt.Errorf("%w: response body over %d bytes", ErrTooLarge, w.max)
	}
	return w.body.Write(p)
}

// Flush does nothing: a message goes out whole when the handler returns.
func (w *responseWriter) Flush() {}

func (w *responseWriter) encode() ([]byte, error) {
	if w.tooBig {
		return nil, fmt.Errorf("%w: the response does not fit in %d bytes", ErrTooLarge, w.max)
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	h := w.header
	var trailer http.Header
	if names := httpmsg.TrailerNames(h); len(names) > 0 {
		trailer = httpmsg.Trailer(h, names)
		h = h.Clone()
		for _, n := range names {
			delete(h, n)
		}
	}
	// A response to HEAD, a 204 and a 304 have no content; the others get
	// their length, since the whole content is known.
	noContent := w.head || w.status == http.StatusNoContent || w.status == http.StatusNotModified
	if cl, ok := h["Content-Length"]; ok && !noContent && (len(cl) != 1 || cl[0] != strconv.Itoa(w.body.Len())) {
		return nil, fmt.Errorf("the handler's content-length %q disagrees with its %d bytes of content", cl, w.body.Len())
	}
	if _, ok := h["Content-Length"]; !ok && !noContent {
		h = h.Clone()
		h.Set("Content-Length", strconv.Itoa(w.body.Len()))
	}
	out, err := bhttp.AppendResponse(make([]byte, 0, w.body.Len()+256), &bhttp.Response{
		Informational: w.info,
		ResponseHead:  bhttp.ResponseHead{Status: w.status, Header: h},
		Content:       w.body.Bytes(),
		Trailer:       trailer,
	})
	if err != nil {
		return nil, err
	}
	if len(out) > w.max {
		return nil, fmt.Errorf("%w: the response message is %d bytes, the limit %d", ErrTooLarge, len(out), w.max)
	}
	return out, nil
}

// errorResponse encodes a response the adapter generates itself.
func errorResponse(status int, code, msg string) []byte {
	return httpmsg.AppendErrorResponse(bhttp.AppendResponseStart(nil), status, code, msg)
}
