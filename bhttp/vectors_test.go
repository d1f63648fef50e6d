package bhttp

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/httpipc/httpipc/internal/golden"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json from the vectors defined in this file")

// vector is one entry of testdata/vectors.json, the file other
// implementations check themselves against.
type vector struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Kind is "request", "response", or "head-response": a response to a
	// HEAD request, whose content must be empty whatever its
	// Content-Length says.
	Kind string `json:"kind"`
	// Hex is the encoded message.
	Hex string `json:"hex"`
	// Encode says that an encoder given Message must produce exactly Hex.
	Encode bool `json:"encode"`
	// Mode says which rules the verdict holds under: "stream" (the rules of
	// a message on a stream: no truncation, no padding; the verdict is the
	// same for a whole message) or "message" (RFC 9292's rules for a
	// message held whole: truncated trailing sections and zero padding).
	Mode string `json:"mode"`
	// Error names the decoding error class ("malformed", "too-large",
	// "truncated"); empty when the message is valid.
	Error   string   `json:"error,omitempty"`
	Message *message `json:"message,omitempty"`
}

type message struct {
	Method        string      `json:"method,omitempty"`
	Scheme        string      `json:"scheme,omitempty"`
	Authority     string      `json:"authority,omitempty"`
	Path          string      `json:"path,omitempty"`
	Informational []info      `json:"informational,omitempty"`
	Status        int         `json:"status,omitempty"`
	Header        [][2]string `json:"header"`
	Content       string      `json:"content"`
	Trailer       [][2]string `json:"trailer"`
}

type info struct {
	Status int         `json:"status"`
	Header [][2]string `json:"header"`
}

func toHeader(p [][2]string) http.Header {
	if len(p) == 0 {
		return nil
	}
	h := http.Header{}
	for _, kv := range p {
		h.Add(kv[0], kv[1])
	}
	return h
}

func rfcHex(s string) string { return strings.Join(strings.Fields(s), "") }

// definedVectors lists the vectors. The RFC 9292 Section 5 examples are
// decode-only; the others are produced by this package's encoder.
func definedVectors() []vector {
	rfcReqMsg := &message{Method: "GET", Scheme: "https", Path: "/hello.txt",
		Header: [][2]string{{"user-agent", "curl/7.16.3 libcurl/7.16.3 OpenSSL/0.9.7l zlib/1.2.3"}, {"host", "www.example.com"}, {"accept-language", "en, mi"}}}
	vs := []vector{
		{Name: "rfc9292-request-known-length", Kind: "request", Message: rfcReqMsg,
			Description: "RFC 9292 Section 5.1 example: known-length GET with empty content and trailer sections",
			Hex: rfcHex(`00034745 54056874 74707300 0a2f6865 6c6c6f2e 74787440 6c0a7573 65722d61
				67656e74 34637572 6c2f372e 31362e33 206c6962 6375726c 2f372e31 362e3320
				4f70656e 53534c2f 302e392e 376c207a 6c69622f 312e322e 3304686f 73740f77
				77772e65 78616d70 6c652e63 6f6d0f61 63636570 742d6c61 6e677561 67650665
				6e2c206d 690000`)},
		{Name: "rfc9292-request-indeterminate-padded", Kind: "request", Message: rfcReqMsg,
			Description: "RFC 9292 Section 5.1 example: indeterminate-length GET followed by zero padding",
			Hex: rfcHex(`02034745 54056874 74707300 0a2f6865 6c6c6f2e 7478740a 75736572 2d616765
				6e743463 75726c2f 372e3136 2e33206c 69626375 726c2f37 2e31362e 33204f70
				656e5353 4c2f302e 392e376c 207a6c69 622f312e 322e3304 686f7374 0f777777
				2e657861 6d706c65 2e636f6d 0f616363 6570742d 6c616e67 75616765 06656e2c
				206d6900 00000000 00000000 00000000`)},
		{Name: "rfc9292-response-indeterminate", Kind: "response",
			Description: "RFC 9292 Section 5.2 example: two informational responses, then 200 with 51 bytes of content",
			Hex: rfcHex(`03406607 72756e6e 696e670a 22736c65 65702031 35220040 67046c69 6e6b233c
				2f737479 6c652e63 73733e3b 2072656c 3d707265 6c6f6164 3b206173 3d737479
				6c65046c 696e6b24 3c2f7363 72697074 2e6a733e 3b207265 6c3d7072 656c6f61
				643b2061 733d7363 72697074 0040c804 64617465 1d4d6f6e 2c203237 204a756c
				20323030 39203132 3a32383a 35332047 4d540673 65727665 72064170 61636865
				0d6c6173 742d6d6f 64696669 65641d57 65642c20 3232204a 756c2032 30303920
				31393a31 353a3536 20474d54 04657461 67142233 34616133 38372d64 2d313536
				38656230 30220d61 63636570 742d7261 6e676573 05627974 65730e63 6f6e7465
				6e742d6c 656e6774 68023531 04766172 790f4163 63657074 2d456e63 6f64696e
				670c636f 6e74656e 742d7479 70650a74 6578742f 706c6169 6e003348 656c6c6f
				20576f72 6c642120 4d792063 6f6e7465 6e742069 6e636c75 64657320 61207472
				61696c69 6e672043 524c462e 0d0a0000`),
			Message: &message{
				Informational: []info{
					{102, [][2]string{{"running", `"sleep 15"`}}},
					{103, [][2]string{{"link", `</style.css>; rel=preload; as=style`}, {"link", `</script.js>; rel=preload; as=script`}}},
				},
				Status: 200,
				Header: [][2]string{{"date", "Mon, 27 Jul 2009 12:28:53 GMT"}, {"server", "Apache"},
					{"last-modified", "Wed, 22 Jul 2009 19:15:56 GMT"}, {"etag", `"34aa387-d-1568eb00"`},
					{"accept-ranges", "bytes"}, {"content-length", "51"}, {"vary", "Accept-Encoding"},
					{"content-type", "text/plain"}},
				Content: "Hello World! My content includes a trailing CRLF.\r\n",
			}},
		{Name: "get-no-content", Kind: "request", Encode: true,
			Description: "httpipc client GET: indeterminate length, empty content and trailers",
			Message: &message{Method: "GET", Scheme: "http", Authority: "lms", Path: "/ims/oneroster/rostering/v1p2/users/u1/classes?limit=10",
				Header: [][2]string{{"accept", "application/json"}}}},
		{Name: "post-json-with-trailer", Kind: "request", Encode: true,
			Description: "POST with a JSON body in one chunk and one trailer field",
			Message: &message{Method: "POST", Scheme: "http", Authority: "lms", Path: "/xapi/statements",
				Header:  [][2]string{{"content-type", "application/json"}, {"x-experience-api-version", "1.0.3"}},
				Content: `{"verb":"completed"}`, Trailer: [][2]string{{"digest", "sha-256=abc"}}}},
		{Name: "response-404-text", Kind: "response", Encode: true,
			Description: "404 with a text body",
			Message:     &message{Status: 404, Header: [][2]string{{"content-type", "text/plain; charset=utf-8"}}, Content: "no such user\n"}},
		{Name: "field-values-htab-and-obs-text", Kind: "request", Encode: true,
			Description: "field values may contain HTAB and bytes 0x80-0xFF (obs-text; here UTF-8)",
			Message: &message{Method: "GET", Scheme: "http", Authority: "lms", Path: "/",
				Header: [][2]string{{"x-note", "caf\u00e9\tau lait"}}}},
		{Name: "response-103-then-204", Kind: "response", Encode: true,
			Description: "an informational 103 before a 204 with no content",
			Message:     &message{Informational: []info{{103, [][2]string{{"link", "</a.css>; rel=preload"}}}}, Status: 204}},
		{Name: "head-response-with-content-length", Kind: "head-response", Encode: true,
			Description: "a response to HEAD: Content-Length gives the length a GET would have; the content is empty",
			Message:     &message{Status: 200, Header: [][2]string{{"content-length", "51"}, {"content-type", "text/plain"}}}},
		{Name: "response-304-with-content-length", Kind: "response", Encode: true,
			Description: "304 with the Content-Length of the selected representation and no content (RFC 9110 section 15.4.5)",
			Message:     &message{Status: 304, Header: [][2]string{{"content-length", "51"}, {"etag", `"x"`}}}},
		// Invalid messages.
		{Name: "head-response-with-content", Kind: "head-response", Error: "malformed", Hex: "03" + "40c8" + "00" + "0178" + "00" + "00",
			Description: "a response to HEAD that has content"},
		{Name: "response-204-known-length-content", Kind: "response", Error: "malformed", Hex: "01" + "40cc" + "00" + "01" + "78" + "00",
			Description: "a known-length 204 with one byte of content"},
		{Name: "bad-framing-indicator", Kind: "request", Error: "malformed", Hex: "04",
			Description: "framing indicator 4 is not defined"},
		{Name: "response-framing-for-request", Kind: "request", Error: "malformed", Hex: "03",
			Description: "a response framing indicator where a request is expected"},
		{Name: "truncated-control-data", Kind: "request", Error: "truncated", Hex: "020347",
			Description: "method length 3 but only one byte follows"},
		{Name: "uppercase-field-name", Kind: "request", Error: "malformed", Hex: "020347455404687474700003" + "2f2f2f" + "01410178" + "00" + "0000",
			Description: "field name \"A\" is not lowercase"},
		{Name: "pseudo-header-field", Kind: "request", Error: "malformed", Hex: "0203474554046874747000012f" + "053a70617468012f" + "00" + "0000",
			Description: "a pseudo-header field inside the header section"},
		{Name: "status-out-of-range", Kind: "response", Error: "malformed", Hex: "03" + "4258" + "00" + "0000",
			Description: "status 600"},
		{Name: "content-longer-than-content-length", Kind: "request", Error: "malformed",
			Hex:         "0204504f5354046874747000012f" + "0e636f6e74656e742d6c656e67746801" + "31" + "00" + "02" + "6869" + "00" + "00",
			Description: "Content-Length 1 but two bytes of content"},
		{Name: "non-zero-after-message", Kind: "request", Error: "malformed", Hex: "0203474554046874747000012f00000001",
			Description: "a non-zero byte where only padding may follow"},
		{Name: "field-value-with-newline", Kind: "request", Error: "malformed", Hex: "0203474554046874747000012f" + "0178" + "03610a62" + "00" + "0000",
			Description: "a field value containing LF"},
		{Name: "field-value-with-control", Kind: "request", Error: "malformed", Hex: "0203474554046874747000012f" + "0178" + "03610162" + "00" + "0000",
			Description: "a field value containing the control character 0x01 (RFC 9110 Section 5.5 allows no control character but HTAB)"},
		{Name: "field-value-with-del", Kind: "request", Error: "malformed", Hex: "0203474554046874747000012f" + "0178" + "03617f62" + "00" + "0000",
			Description: "a field value containing DEL (0x7f)"},
		{Name: "empty-field-name-known-length", Kind: "request", Error: "malformed", Hex: "0003474554046874747000012f" + "03" + "000178" + "00" + "00",
			Description: "a known-length header section whose field line has an empty name (a field name is a non-empty token)"},
		{Name: "field-name-not-a-token", Kind: "request", Error: "malformed", Hex: "0203474554046874747000012f" + "03612062" + "0178" + "00" + "0000",
			Description: "field name \"a b\" contains a space, which is not a token character"},
	}
	return vs
}

func (m *message) request() *Request {
	req := &Request{RequestHead: RequestHead{Method: m.Method, Scheme: m.Scheme, Authority: m.Authority, Path: m.Path,
		Header: toHeader(m.Header)}, Trailer: toHeader(m.Trailer)}
	if m.Content != "" {
		req.Content = []byte(m.Content)
	}
	return req
}

func (m *message) response() *Response {
	resp := &Response{ResponseHead: ResponseHead{Status: m.Status, Header: toHeader(m.Header)}, Trailer: toHeader(m.Trailer)}
	for _, in := range m.Informational {
		resp.Informational = append(resp.Informational, Informational{in.Status, toHeader(in.Header)})
	}
	if m.Content != "" {
		resp.Content = []byte(m.Content)
	}
	return resp
}

func encodeVector(t *testing.T, v *vector) string {
	t.Helper()
	var b []byte
	var err error
	if v.Kind == "request" {
		b, err = AppendRequest(nil, v.Message.request())
	} else {
		b, err = AppendResponse(nil, v.Message.response())
	}
	if err != nil {
		t.Fatalf("%s: encode: %v", v.Name, err)
	}
	return hex.EncodeToString(b)
}

func errorClass(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrTooLarge):
		return "too-large"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	}
	return "other: " + err.Error()
}

func TestVectors(t *testing.T) {
	const file = "testdata/vectors.json"
	defined := definedVectors()
	for i := range defined {
		if defined[i].Encode {
			defined[i].Hex = encodeVector(t, &defined[i])
		}
	}
	for i := range defined {
		defined[i].Mode = "stream"
		switch defined[i].Name {
		case "rfc9292-request-indeterminate-padded", "non-zero-after-message":
			defined[i].Mode = "message"
		}
	}
	stored := golden.Sync(t, file, defined, *update)
	if !reflect.DeepEqual(stored, defined) {
		t.Fatalf("%s is out of date: run go test ./bhttp -run TestVectors -update", file)
	}
	for _, v := range stored {
		t.Run(v.Name, func(t *testing.T) {
			b, err := hex.DecodeString(v.Hex)
			if err != nil {
				t.Fatal(err)
			}
			if v.Mode == "stream" {
				if class := errorClass(decodeStream(b, v.Kind)); class != v.Error {
					t.Fatalf("on a stream: error class %q, want %q", class, v.Error)
				}
			}
			var got any
			var want any
			if v.Kind == "request" {
				req, err := DecodeRequest(b, Limits{})
				if class := errorClass(err); class != v.Error {
					t.Fatalf("error class %q, want %q (%v)", class, v.Error, err)
				}
				if err != nil {
					return
				}
				req.ContentLength = 0
				got = req
				wantReq := v.Message.request()
				want = wantReq
			} else {
				decode := DecodeResponse
				if v.Kind == "head-response" {
					decode = DecodeHeadResponse
				}
				resp, err := decode(b, Limits{})
				if class := errorClass(err); class != v.Error {
					t.Fatalf("error class %q, want %q (%v)", class, v.Error, err)
				}
				if err != nil {
					return
				}
				resp.ContentLength = 0
				got = resp
				want = v.Message.response()
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decoded\n %#v\nwant\n %#v", got, want)
			}
		})
	}
}

// decodeStream decodes b as one message on a stream, with no truncation or
// padding, and reports an error if any byte is left after it.
func decodeStream(b []byte, kind string) error {
	br := bufio.NewReader(bytes.NewReader(b))
	r := NewReader(br, Limits{})
	var err error
	if kind == "request" {
		_, err = r.ReadRequestHead()
	} else {
		if kind == "head-response" {
			r.ExpectHeadResponse()
		}
		_, err = r.ReadResponseHead(nil)
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	if n := br.Buffered(); n > 0 {
		return fmt.Errorf("%w: %d bytes after the message", ErrMalformed, n)
	}
	return nil
}
