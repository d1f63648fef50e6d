package message

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
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
	w := &responseWriter{ResponseState: httpmsg.NewResponseState(hr.Method), max: s.max(), log: s.logger(), path: hr.URL.Path}
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
	h := s.Handler
	if h == nil {
		h = http.DefaultServeMux
	}
	p := httpmsg.CallHandler(h, w, r)
	if p != nil && p.Stack != "" {
		s.logger().Error("message: handler panic", "path", r.URL.Path, "panic", p.Value, "stack", p.Stack)
	}
	return p != nil
}

func newRequest(ctx context.Context, peer *peercred.Creds, m *bhttp.Request) (*http.Request, error) {
	r, err := httpmsg.NewRequest(ctx, &m.RequestHead)
	if err != nil {
		return nil, err
	}
	r.RemoteAddr = peer.String()
	r.ContentLength = int64(len(m.Content))
	r.Trailer = m.Trailer
	if len(m.Content) > 0 {
		r.Body = nopCloser{bytes.NewReader(m.Content)}
	}
	return r, nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// responseWriter collects a whole response, refusing to grow past max. The
// HTTP rules it applies are httpmsg's, as for the stream server.
type responseWriter struct {
	httpmsg.ResponseState
	info   []bhttp.Informational
	body   bytes.Buffer
	max    int
	tooBig bool
	log    *slog.Logger
	path   string
	// headPrefix keeps the first content written for HEAD, which is
	// dropped, to sniff its type from.
	headPrefix []byte
}

func (w *responseWriter) Header() http.Header { return w.ResponseState.Header }

func (w *responseWriter) WriteHeader(code int) {
	switch w.ResponseState.WriteHeader(code) {
	case httpmsg.Informational:
		w.info = append(w.info, bhttp.Informational{Status: code, Header: w.ResponseState.Header.Clone()})
	case httpmsg.Replaced:
		w.log.Warn("message: status cannot be carried; sending 500", "code", code, "path", w.path)
	}
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.WroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if write, err := w.CheckWrite(p, false); !write {
		if err != nil {
			return 0, err
		}
		// Content for HEAD is dropped, once it has served for sniffing.
		if w.SniffPending && len(w.headPrefix) < httpmsg.SniffLen {
			w.headPrefix = append(w.headPrefix, p[:min(len(p), httpmsg.SniffLen-len(w.headPrefix))]...)
		}
		w.Written += int64(len(p))
		return len(p), nil
	}
	if w.body.Len()+len(p) > w.max {
		w.tooBig = true
		return 0, fmt.Errorf("%w: response body over %d bytes", ErrTooLarge, w.max)
	}
	w.Written += int64(len(p))
	return w.body.Write(p)
}

// Flush does nothing: a message goes out whole when the handler returns.
func (w *responseWriter) Flush() {}

func (w *responseWriter) encode() ([]byte, error) {
	if w.tooBig {
		return nil, fmt.Errorf("%w: the response does not fit in %d bytes", ErrTooLarge, w.max)
	}
	if !w.WroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.SniffPending {
		prefix := w.headPrefix
		if !w.NoBody {
			prefix = w.body.Bytes()[:min(w.body.Len(), httpmsg.SniffLen)]
		}
		w.Sniff(prefix)
	}
	h := httpmsg.ResponseHeader(w.ResponseState.Header)
	trailer := httpmsg.Trailer(w.ResponseState.Header, httpmsg.TrailerNames(w.ResponseState.Header))
	// A response to HEAD, a 204 and a 304 have no content; the others get
	// their length, since the whole content is known.
	if cl, ok := h["Content-Length"]; ok && !w.NoBody && (len(cl) != 1 || cl[0] != strconv.Itoa(w.body.Len())) {
		return nil, fmt.Errorf("the handler's content-length %q disagrees with its %d bytes of content", cl, w.body.Len())
	}
	if _, ok := h["Content-Length"]; !ok && !w.NoBody {
		h = h.Clone()
		h.Set("Content-Length", strconv.Itoa(w.body.Len()))
	}
	out, err := bhttp.AppendResponse(make([]byte, 0, w.body.Len()+256), &bhttp.Response{
		Informational: w.info,
		ResponseHead:  bhttp.ResponseHead{Status: w.Status, Header: h},
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
