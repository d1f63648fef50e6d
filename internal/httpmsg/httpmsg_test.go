package httpmsg

import (
	"net/http"
	"reflect"
	"sort"
	"testing"

	"github.com/httpipc/httpipc/bhttp"
)

func TestTrailers(t *testing.T) {
	h := http.Header{
		"Trailer":                     {"X-Sum, x-count"},
		"X-Sum":                       {"9"},
		http.TrailerPrefix + "X-Late": {"1"},
		"Content-Type":                {"text/plain"},
	}
	names := TrailerNames(h)
	sort.Strings(names)
	if want := []string{"Trailer:X-Late", "X-Count", "X-Sum"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("names %v, want %v", names, want)
	}
	got := Trailer(h, names)
	if want := (http.Header{"X-Sum": {"9"}, "X-Late": {"1"}}); !reflect.DeepEqual(got, want) {
		t.Fatalf("trailer %v, want %v", got, want)
	}
	if Trailer(http.Header{}, nil) != nil {
		t.Fatal("a trailer without names")
	}
}

func TestErrorResponse(t *testing.T) {
	b := AppendErrorResponse(bhttp.AppendResponseStart(nil), 413, "too-large", "request body larger than 10 bytes")
	resp, err := bhttp.DecodeResponse(b, bhttp.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 413 || resp.Header.Get(ErrorField) != "too-large" || string(resp.Content) != "request body larger than 10 bytes\n" {
		t.Fatalf("got %d %v %q", resp.Status, resp.Header, resp.Content)
	}
}

func TestNewRequest(t *testing.T) {
	for _, tc := range []struct {
		head     bhttp.RequestHead
		host     string
		length   int64
		badPath  bool
		wantPath string
	}{
		{head: bhttp.RequestHead{Method: "GET", Authority: "lms", Path: "/a?b=1", ContentLength: -1}, host: "lms", length: -1, wantPath: "/a"},
		{head: bhttp.RequestHead{Method: "GET", Path: "/", Header: http.Header{"Host": {"h"}}, ContentLength: -1}, host: "h", length: -1, wantPath: "/"},
		{head: bhttp.RequestHead{Method: "GET", Authority: "a", Path: "/", Header: http.Header{"Host": {"h"}}, ContentLength: -1}, host: "a", length: -1, wantPath: "/"},
		{head: bhttp.RequestHead{Method: "POST", Path: "/", Header: http.Header{"Content-Length": {"7"}}, ContentLength: -1}, length: 7, wantPath: "/"},
		{head: bhttp.RequestHead{Method: "POST", Path: "/", ContentLength: 3}, length: 3, wantPath: "/"},
		{head: bhttp.RequestHead{Method: "OPTIONS", Path: "*", ContentLength: -1}, length: -1, wantPath: "*"},
		{head: bhttp.RequestHead{Method: "GET", Path: "http://x/", ContentLength: -1}, badPath: true},
		{head: bhttp.RequestHead{Method: "GET", Path: "", ContentLength: -1}, badPath: true},
	} {
		req, err := NewRequest(t.Context(), &tc.head)
		if tc.badPath {
			if err == nil {
				t.Errorf("%q: no error", tc.head.Path)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if req.Host != tc.host || req.ContentLength != tc.length || req.URL.Path != tc.wantPath || req.Header.Get("Host") != "" || req.RequestURI != tc.head.Path {
			t.Errorf("%+v: got host %q length %d path %q", tc.head, req.Host, req.ContentLength, req.URL.Path)
		}
	}
}

func TestClientRequestHead(t *testing.T) {
	req, _ := http.NewRequest("", "//lms/a?b=1", nil)
	h := ClientRequestHead(req)
	if h.Method != "GET" || h.Scheme != "http" || h.Authority != "lms" || h.Path != "/a?b=1" {
		t.Fatalf("%+v", h)
	}
	req.Host = "other"
	if h := ClientRequestHead(req); h.Authority != "other" {
		t.Fatalf("Host: %+v", h)
	}
}

func TestNewResponse(t *testing.T) {
	get, _ := http.NewRequest("GET", "http://lms/", nil)
	head, _ := http.NewRequest("HEAD", "http://lms/", nil)
	cl := http.Header{"Content-Length": {"10"}}
	for _, tc := range []struct {
		req    *http.Request
		head   bhttp.ResponseHead
		length int64
	}{
		{get, bhttp.ResponseHead{Status: 200, ContentLength: -1}, -1},
		{get, bhttp.ResponseHead{Status: 200, Header: cl, ContentLength: -1}, 10},
		{get, bhttp.ResponseHead{Status: 200, ContentLength: 4}, 4},
		{head, bhttp.ResponseHead{Status: 200, Header: cl, ContentLength: 0}, 10},
	} {
		resp := NewResponse(tc.req, &tc.head)
		if resp.ContentLength != tc.length || resp.Header == nil || resp.Status != StatusLine(tc.head.Status) {
			t.Errorf("%s %+v: length %d", tc.req.Method, tc.head, resp.ContentLength)
		}
	}
	if StatusLine(418) != "418 I'm a teapot" || StatusLine(200) != "200 OK" {
		t.Fatal(StatusLine(418))
	}
}

func TestWriteHeaderRules(t *testing.T) {
	for _, tc := range []struct {
		method string
		code   int
		action HeaderAction
		status int
		noBody bool
	}{
		{"GET", 103, Informational, 0, false},
		{"GET", 101, Replaced, 500, false},
		{"GET", 600, Replaced, 500, false},
		{"GET", 204, Final, 204, true},
		{"GET", 304, Final, 304, true},
		{"HEAD", 200, Final, 200, true},
		{"GET", 200, Final, 200, false},
	} {
		r := NewResponseState(tc.method)
		if a := r.WriteHeader(tc.code); a != tc.action || r.Status != tc.status || r.NoBody != tc.noBody {
			t.Errorf("%s %d: %v %d %v", tc.method, tc.code, a, r.Status, r.NoBody)
		}
		if r.WroteHeader && r.WriteHeader(404) != Superfluous {
			t.Errorf("%s %d: a second WriteHeader was not superfluous", tc.method, tc.code)
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("WriteHeader(99) did not panic")
			}
		}()
		r := NewResponseState("GET")
		r.WriteHeader(99)
	}()
}
