package conformance

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"testing"

	"github.com/httpipc/httpipc/bhttp"
)

func TestRawRequestMatchesEncoder(t *testing.T) {
	tests := []struct {
		name string
		raw  rawRequest
		want bhttp.Request
	}{
		{"no fields", rawRequest{indicator: 2, method: "GET", path: "/a"},
			bhttp.Request{RequestHead: bhttp.RequestHead{Method: "GET", Path: "/a"}}},
		{"fields and content", rawRequest{indicator: 2, method: "POST", path: "/e",
			fields: [][2]string{{"content-type", "text/plain"}}, content: [][]byte{[]byte("hi")}},
			bhttp.Request{RequestHead: bhttp.RequestHead{Method: "POST", Path: "/e",
				Header: http.Header{"Content-Type": {"text/plain"}}}, Content: []byte("hi")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want.Scheme, tt.want.Authority = "http", "conformance"
			want, err := bhttp.AppendRequest(nil, &tt.want)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.raw.bytes(); !bytes.Equal(got, want) {
				t.Fatalf("got  % x\nwant % x", got, want)
			}
		})
	}
}

func TestKnownLengthDecodes(t *testing.T) {
	raw := rawRequest{indicator: 0, method: "POST", path: "/k",
		fields: [][2]string{{"content-length", "3"}}, content: [][]byte{[]byte("abc")}}
	req, err := bhttp.DecodeRequest(raw.bytes(), bhttp.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != "POST" || req.Path != "/k" || string(req.Content) != "abc" {
		t.Fatalf("decoded %+v", req)
	}
}

func TestRunOutcomes(t *testing.T) {
	refuse := func(context.Context) (net.Conn, error) { return nil, errors.New("no provider") }
	cases := []Case{
		{Name: "pass", Run: func(*T) error { return nil }},
		{Name: "fail", Run: func(*T) error { return errors.New("wrong") }},
		{Name: "skip", Run: func(*T) error { return Skip("not here") }},
		{Name: "echo", Echo: true, Run: func(*T) error { return nil }},
		{Name: "slow", Slow: true, Run: func(*T) error { return nil }},
		{Name: "dial", Run: func(t *T) error { _, err := t.DialRaw(); return err }},
		{Name: "panic", Run: func(*T) error { panic("boom") }},
	}
	want := map[string]Status{"pass": Pass, "fail": Fail, "skip": Skipped, "echo": Skipped, "slow": Skipped, "dial": Fail, "panic": Fail}
	sum := Run(context.Background(), Config{Dial: refuse}, cases, func(r Result) {
		if r.Status != want[r.Name] {
			t.Errorf("%s: %v (%s), want %v", r.Name, r.Status, r.Detail, want[r.Name])
		}
	})
	if sum != (Summary{Passed: 1, Failed: 3, Skipped: 3}) {
		t.Errorf("summary %+v", sum)
	}
}

func TestCasesAreDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Cases() {
		if c.Section == "" || c.Name == "" || c.Description == "" || c.Run == nil {
			t.Errorf("incomplete case %+v", c)
		}
		if seen[c.Name] {
			t.Errorf("duplicate case name %s", c.Name)
		}
		seen[c.Name] = true
	}
}
