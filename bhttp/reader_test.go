package bhttp

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestStream checks that messages written back to back are found one by one,
// with chunked content of any size.
func TestStream(t *testing.T) {
	var b []byte
	var err error
	big := bytes.Repeat([]byte("0123456789abcdef"), 70000) // > 1 MiB
	for i, body := range [][]byte{nil, []byte("x"), big} {
		b, err = AppendRequestHead(b, &RequestHead{Method: "PUT", Scheme: "http", Authority: "a", Path: "/n",
			Header: http.Header{"X-N": {strings.Repeat("n", i)}}})
		if err != nil {
			t.Fatal(err)
		}
		for len(body) > 0 {
			n := min(len(body), 16384)
			b = AppendChunk(b, body[:n])
			body = body[n:]
		}
		if b, err = AppendEnd(b, http.Header{"Done": {"yes"}}); err != nil {
			t.Fatal(err)
		}
	}
	r := NewReader(bufio.NewReader(bytes.NewReader(b)), Limits{})
	for i, want := range [][]byte{nil, []byte("x"), big} {
		h, err := r.ReadRequestHead()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if h.Header.Get("X-N") != strings.Repeat("n", i) || h.ContentLength != -1 {
			t.Fatalf("message %d: head %+v", i, h)
		}
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("message %d: content of %d bytes, want %d", i, len(got), len(want))
		}
		if r.Trailer().Get("Done") != "yes" {
			t.Fatalf("message %d: trailer %v", i, r.Trailer())
		}
	}
	if _, err := r.ReadRequestHead(); err != io.EOF {
		t.Fatalf("after the last message: %v, want io.EOF", err)
	}
}

func TestReaderErrors(t *testing.T) {
	long := strings.Repeat("v", 100)
	head := func(h http.Header) []byte {
		b, err := AppendRequestHead(nil, &RequestHead{Method: "GET", Scheme: "http", Path: "/", Header: h})
		if err != nil {
			t.Fatal(err)
		}
		b, _ = AppendEnd(b, nil)
		return b
	}
	tests := []struct {
		name  string
		input []byte
		lim   Limits
		want  error
	}{
		{"header over the limit", head(http.Header{"X": {long}}), Limits{MaxFieldSectionSize: 64}, ErrTooLarge},
		{"header at the limit", head(http.Header{"X": {long}}), Limits{MaxFieldSectionSize: 200}, nil},
		{"truncated in header", head(http.Header{"X": {long}})[:30], Limits{}, io.ErrUnexpectedEOF},
		{"truncated before trailer", head(nil)[:len(head(nil))-1], Limits{}, io.ErrUnexpectedEOF},
		{"huge name length", mustHex("0203474554046874747000012f" + "bfffffffffffffff"), Limits{}, ErrTooLarge},
		{"huge chunk length then EOF", mustHex("0203474554046874747000012f00" + "bfffffffffffffff" + "41"), Limits{}, io.ErrUnexpectedEOF},
		{"bad method", mustHex("0203" + "472045" + "046874747000012f000000"), Limits{}, ErrMalformed},
		{"empty path", mustHex("0203474554046874747000" + "00" + "000000"), Limits{}, ErrMalformed},
		{"duplicate content-length", head(http.Header{"Content-Length": {"0", "0"}}), Limits{}, ErrMalformed},
		{"content shorter than content-length", head(http.Header{"Content-Length": {"5"}}), Limits{}, ErrMalformed},
		{"signed content-length", head(http.Header{"Content-Length": {"+0"}}), Limits{}, ErrMalformed},
		{"too many informational", mustHex("03" + strings.Repeat("406400", 20)), Limits{}, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(bufio.NewReader(bytes.NewReader(tt.input)), tt.lim)
			var err error
			if tt.input[0] == 3 {
				_, err = r.ReadResponseHead(nil)
			} else if _, err = r.ReadRequestHead(); err == nil {
				_, err = io.ReadAll(r)
			}
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if err != nil {
				if _, again := r.ReadRequestHead(); again == nil {
					t.Fatal("a failed Reader decoded another message")
				}
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name string
		head RequestHead
	}{
		{"empty method", RequestHead{Scheme: "http", Path: "/"}},
		{"space in method", RequestHead{Method: "G T", Scheme: "http", Path: "/"}},
		{"newline in path", RequestHead{Method: "GET", Scheme: "http", Path: "/\r\nX: y"}},
		{"empty path", RequestHead{Method: "GET", Scheme: "http"}},
		{"newline in value", RequestHead{Method: "GET", Scheme: "http", Path: "/", Header: http.Header{"X": {"a\nb"}}}},
		{"bad name", RequestHead{Method: "GET", Scheme: "http", Path: "/", Header: http.Header{"X Y": {"a"}}}},
	}
	for _, tt := range tests {
		if _, err := AppendRequestHead(nil, &tt.head); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
	if _, err := AppendResponseHead(nil, 99, nil); err == nil {
		t.Error("status 99 accepted")
	}
	if _, err := AppendInformational(nil, 200, nil); err == nil {
		t.Error("informational 200 accepted")
	}
}

func TestVarint(t *testing.T) {
	for _, v := range []uint64{0, 63, 64, 16383, 16384, 1<<30 - 1, 1 << 30, MaxVarint} {
		b := AppendVarint(nil, v)
		if len(b) != VarintLen(v) {
			t.Fatalf("%d: %d bytes, VarintLen says %d", v, len(b), VarintLen(v))
		}
		got, err := ReadVarint(&sliceReader{b})
		if err != nil || got != v {
			t.Fatalf("%d: read back %d, %v", v, got, err)
		}
		if _, err := ReadVarint(&sliceReader{b[:len(b)-1]}); len(b) > 1 && err != io.ErrUnexpectedEOF {
			t.Fatalf("%d truncated: %v", v, err)
		}
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func FuzzDecodeRequest(f *testing.F) {
	for _, v := range definedVectors() {
		if v.Hex != "" {
			f.Add(mustHex(v.Hex))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := DecodeRequest(b, Limits{MaxFieldSectionSize: 4096})
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		// What decodes must encode again and decode to the same thing.
		out, err := AppendRequest(nil, req)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := DecodeRequest(out, Limits{MaxFieldSectionSize: 1 << 20})
		if err != nil {
			t.Fatalf("decode of re-encoded: %v", err)
		}
		if again.Method != req.Method || again.Path != req.Path || !bytes.Equal(again.Content, req.Content) {
			t.Fatalf("round trip changed the request")
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	for _, v := range definedVectors() {
		if v.Hex != "" && v.Kind == "response" {
			f.Add(mustHex(v.Hex))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		resp, err := DecodeResponse(b, Limits{MaxFieldSectionSize: 4096})
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if _, err := AppendResponse(nil, resp); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
	})
}

// FuzzStream feeds arbitrary bytes to a stream Reader, as a provider reads
// them from a peer.
func FuzzStream(f *testing.F) {
	f.Add(mustHex("0203474554046874747000012f0000" + "0203474554046874747000012f00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(bufio.NewReaderSize(bytes.NewReader(b), 16), Limits{MaxFieldSectionSize: 1024})
		buf := make([]byte, 7)
		for i := 0; i < 100; i++ {
			if _, err := r.ReadRequestHead(); err != nil {
				return
			}
			for {
				if _, err := r.Read(buf); err != nil {
					if err != io.EOF {
						return
					}
					break
				}
			}
		}
	})
}

// TestFieldLineOrder: field lines are sorted by their lowercase name
// bytewise (so "x-a" < "x_b" although the Go keys sort the other way), and
// the values of one name keep their order.
func TestFieldLineOrder(t *testing.T) {
	h := http.Header{"X_b": {"3"}, "X-A": {"1", "2"}, "Accept": {"4"}}
	b, err := AppendResponseHead(AppendResponseStart(nil), 200, h)
	if err != nil {
		t.Fatal(err)
	}
	line := func(name, value string) string {
		return hex.EncodeToString(append(append([]byte{byte(len(name))}, name...), append([]byte{byte(len(value))}, value...)...))
	}
	want := "03" + "40c8" + line("accept", "4") + line("x-a", "1") + line("x-a", "2") + line("x_b", "3") + "00"
	if got := hex.EncodeToString(b); got != want {
		t.Fatalf("encoded %s\nwant    %s", got, want)
	}
}

// TestContentLengthInOrder: the content-length line the request encoder
// adds goes in its sorted place, before content-type.
func TestContentLengthInOrder(t *testing.T) {
	b, err := AppendRequestHead(nil, &RequestHead{Method: "POST", Scheme: "http", Authority: "lms", Path: "/",
		Header: http.Header{"Content-Type": {"a/b"}, "Accept": {"*/*"}}, ContentLength: 5})
	if err != nil {
		t.Fatal(err)
	}
	h := hex.EncodeToString(b)
	acc, cl, ct := strings.Index(h, hex.EncodeToString([]byte("accept"))), strings.Index(h, hex.EncodeToString([]byte("content-length"))), strings.Index(h, hex.EncodeToString([]byte("content-type")))
	if !(acc >= 0 && acc < cl && cl < ct) {
		t.Fatalf("field order in %s: accept at %d, content-length at %d, content-type at %d", h, acc, cl, ct)
	}
}
