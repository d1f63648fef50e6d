package message

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/httpipc/httpipc/bhttp"
)

// Transport is an http.RoundTripper that sends each request as one message
// over Channel and decodes the one message that answers it. Request and
// response bodies are held in memory, bounded by the channel's message size.
type Transport struct {
	// Channel carries the messages.
	Channel Channel
	// MaxHeaderBytes bounds each field section of a response. Zero means
	// 64 KiB.
	MaxHeaderBytes int
}

// RoundTrip sends req and returns the response. A request that does not fit
// in one message fails with an error that wraps ErrTooLarge, before anything
// is sent.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close()
	}
	max := t.Channel.MaxMessageSize()
	if max <= 0 {
		max = DefaultMaxMessageSize
	}
	var content []byte
	if req.Body != nil && req.Body != http.NoBody {
		if req.ContentLength > int64(max) {
			return nil, fmt.Errorf("%w: request body of %d bytes, channel limit %d bytes", ErrTooLarge, req.ContentLength, max)
		}
		var err error
		content, err = io.ReadAll(io.LimitReader(req.Body, int64(max)+1))
		if err != nil {
			return nil, fmt.Errorf("message: reading request body: %w", err)
		}
		if len(content) > max {
			return nil, fmt.Errorf("%w: request body over the channel limit of %d bytes", ErrTooLarge, max)
		}
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	scheme := req.URL.Scheme
	if scheme == "" {
		scheme = "http"
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	msg, err := bhttp.AppendRequest(nil, &bhttp.Request{
		RequestHead: bhttp.RequestHead{Method: method, Scheme: scheme, Authority: host, Path: req.URL.RequestURI(), Header: req.Header},
		Content:     content,
		Trailer:     req.Trailer,
	})
	if err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	if len(msg) > max {
		return nil, fmt.Errorf("%w: request message of %d bytes, channel limit %d bytes", ErrTooLarge, len(msg), max)
	}
	out, err := t.Channel.Call(req.Context(), msg)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, fmt.Errorf("message: %w", ctxErr)
		}
		return nil, fmt.Errorf("message: %w", err)
	}
	if len(out) > max {
		return nil, fmt.Errorf("%w: response message of %d bytes, channel limit %d bytes", ErrTooLarge, len(out), max)
	}
	decode := bhttp.DecodeResponse
	if req.Method == http.MethodHead {
		decode = bhttp.DecodeHeadResponse
	}
	resp, err := decode(out, bhttp.Limits{MaxFieldSectionSize: t.MaxHeaderBytes})
	if err != nil {
		return nil, fmt.Errorf("message: bad response from provider: %w", err)
	}
	h := resp.Header
	if h == nil {
		h = http.Header{}
	}
	hr := &http.Response{
		Status:     strconv.Itoa(resp.Status) + " " + http.StatusText(resp.Status),
		StatusCode: resp.Status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Trailer: resp.Trailer, Request: req,
		ContentLength: int64(len(resp.Content)),
		Body:          io.NopCloser(bytes.NewReader(resp.Content)),
	}
	if req.Method == http.MethodHead {
		hr.Body = http.NoBody
		if cl, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil {
			hr.ContentLength = cl
		}
	}
	return hr, nil
}
