package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// Problem is an RFC 9457 problem details object, the body of the proxy's
// 502 and 504 answers (media type application/problem+json).
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// forwardError answers when the provider could not be reached or did not
// answer in time.
func (p *Proxy) forwardError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil && !errors.Is(r.Context().Err(), context.DeadlineExceeded) {
		// The client hung up; the call to the provider was cancelled.
		p.logger().Debug("httpipc proxy: client went away", "url", p.logURL(r.URL, ""), "err", p.redactText(err.Error(), r.URL))
		return
	}
	code := http.StatusBadGateway
	if errors.Is(err, context.DeadlineExceeded) {
		code = http.StatusGatewayTimeout
	}
	detail := p.redactText(err.Error(), r.URL)
	p.logger().Warn("httpipc proxy: forwarding failed", "status", code, "url", p.logURL(r.URL, ""), "err", detail)
	pr := Problem{Type: "about:blank", Title: http.StatusText(code), Status: code, Detail: detail}
	w.Header().Set("Content-Type", "application/problem+json")
	if info, ok := r.Context().Value(corsKey{}).(corsInfo); ok && info.origin != "" {
		allow(w.Header(), info.origin)
	}
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(pr)
}

// modifyResponse puts the proxy's CORS answer on the provider's response:
// the proxy, not the provider, decides which origins may read it.
func (p *Proxy) modifyResponse(resp *http.Response) error {
	for k := range resp.Header {
		if strings.HasPrefix(k, "Access-Control-") {
			resp.Header.Del(k)
		}
	}
	info, _ := resp.Request.Context().Value(corsKey{}).(corsInfo)
	if info.origin != "" {
		var names []string
		for k := range resp.Header {
			names = append(names, k)
		}
		allow(resp.Header, info.origin)
		if len(names) > 0 {
			resp.Header.Set("Access-Control-Expose-Headers", strings.Join(names, ", "))
		}
	} else if len(p.AllowOrigins) > 0 {
		// The answer depends on the origin: shared caches must know.
		resp.Header.Add("Vary", "Origin")
	}
	return nil
}

func allow(h http.Header, origin string) {
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Add("Vary", "Origin")
}
