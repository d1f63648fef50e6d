package message

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/bhttp"
	"github.com/httpipc/httpipc/internal/httpmsg"
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
// is sent. As with httpipc.Transport, a provider's refusal of the caller
// (403 or 503 with the httpipc-error field forbidden or too-many) is an
// error that wraps httpipc.ErrRefused, and a response that cannot be
// decoded one that wraps httpipc.ErrProtocol.
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
	msg, err := bhttp.AppendRequest(nil, &bhttp.Request{
		RequestHead: httpmsg.ClientRequestHead(req),
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
		return nil, fmt.Errorf("%w: bad response from provider: %v", httpipc.ErrProtocol, err)
	}
	if err := refusal(resp); err != nil {
		return nil, err
	}
	hr := httpmsg.NewResponse(req, &resp.ResponseHead)
	hr.Trailer = resp.Trailer
	if req.Method == http.MethodHead {
		hr.Body = http.NoBody
	} else {
		hr.ContentLength = int64(len(resp.Content))
		hr.Body = io.NopCloser(bytes.NewReader(resp.Content))
	}
	return hr, nil
}

// refusal returns the error for a response the provider generated to
// refuse the caller, as a stream provider refuses a connection
// (docs/PROTOCOL.md, sections 4 and 6): 403 forbidden when its policy does
// not admit the caller, 503 too-many when the caller is over a cap. The
// error wraps httpipc.ErrRefused and carries the provider's reason.
func refusal(resp *bhttp.Response) error {
	code := resp.Header.Get(httpipc.ErrorField)
	if !(resp.Status == http.StatusForbidden && code == httpipc.ErrorForbidden ||
		resp.Status == http.StatusServiceUnavailable && code == httpipc.ErrorTooMany) {
		return nil
	}
	reason := strings.TrimSpace(string(resp.Content))
	if reason == "" {
		reason = "(no reason given)"
	}
	return fmt.Errorf("%w: %s", httpipc.ErrRefused, reason)
}
