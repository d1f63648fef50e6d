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
