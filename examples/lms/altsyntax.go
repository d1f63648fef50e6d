package lms

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
)

// xAPI's alternate request syntax (Communication 1.3): a client that
// cannot send other methods or headers POSTs to a resource with the
// query ?method=GET|HEAD|PUT|POST|DELETE and a form body holding the
// headers (Authorization, X-Experience-API-Version, Content-Type,
// If-Match, If-None-Match), the body (content) and the query parameters.
// alternateSyntax turns such a request into the one it stands for before
// the credentials are checked, since they may be in the form.

// maxForm bounds an alternate syntax form: the largest document,
// percent-encoded, and the rest.
const maxForm = 3*maxDocument + 64<<10

// formHeaders are the form parameters that are headers.
var formHeaders = map[string]bool{"Authorization": true, "X-Experience-Api-Version": true, "Content-Type": true,
	"Content-Length": true, "If-Match": true, "If-None-Match": true}

func alternateSyntax(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if !strings.HasPrefix(r.URL.Path, "/xapi/") || !q.Has("method") {
			next.ServeHTTP(w, r)
			return
		}
		r2, err := fromForm(w, r, q)
		if err != nil {
			w.Header().Set("X-Experience-API-Version", XAPIVersion)
			http.Error(w, strings.ReplaceAll(err.Error(), "\n", " "), http.StatusBadRequest)
			return
		}
		next.ServeHTTP(w, r2)
	})
}

// fromForm returns the request an alternate syntax request stands for.
func fromForm(w http.ResponseWriter, r *http.Request, q url.Values) (*http.Request, error) {
	if r.Method != http.MethodPost {
		return nil, fmt.Errorf("the alternate request syntax (?method=) is a POST, not %s", r.Method)
	}
	if len(q) != 1 || len(q["method"]) != 1 {
		return nil, fmt.Errorf("the alternate request syntax takes only method in the query: the other parameters go in the form")
	}
	method := q.Get("method")
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodDelete:
	default:
		return nil, fmt.Errorf("method %q is not GET, HEAD, PUT, POST or DELETE", method)
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, fmt.Errorf("the alternate request syntax needs a body of Content-Type application/x-www-form-urlencoded")
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxForm))
	if err != nil {
		return nil, fmt.Errorf("the form: %v", err)
	}
	form, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, fmt.Errorf("the form is not URL-encoded: %v", err)
	}
	r2 := r.Clone(r.Context())
	r2.Method = method
	r2.Header.Del("Content-Type")
	query := url.Values{}
	var content string
	for k, v := range form {
		if len(v) > 1 {
			return nil, fmt.Errorf("form parameter %q given twice", k)
		}
		switch h := textproto.CanonicalMIMEHeaderKey(k); {
		case k == "content":
			content = v[0]
		case h == "Content-Length":
			// The length is content's.
		case formHeaders[h]:
			r2.Header.Set(h, v[0])
		default:
			query.Set(k, v[0])
		}
	}
	if content != "" && r2.Header.Get("Content-Type") == "" {
		r2.Header.Set("Content-Type", "application/json")
	}
	r2.URL.RawQuery = query.Encode()
	r2.RequestURI = r2.URL.RequestURI()
	r2.Body = io.NopCloser(strings.NewReader(content))
	r2.ContentLength = int64(len(content))
	r2.Header.Set("Content-Length", strconv.Itoa(len(content)))
	return r2, nil
}
