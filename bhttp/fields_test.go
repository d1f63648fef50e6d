package bhttp

import (
	"net/http"
	"testing"
)

// Every field name decodes to Go's canonical form, whether or not the
// static table holds it.
func TestCanonicalName(t *testing.T) {
	for _, wire := range []string{"content-type", "www-authenticate", "x-experience-api-version", "x-custom", "etag", "a"} {
		if got, want := canonicalName([]byte(wire)), http.CanonicalHeaderKey(wire); got != want {
			t.Errorf("canonicalName(%q) = %q, want %q", wire, got, want)
		}
	}
	for lower, name := range commonNames {
		if http.CanonicalHeaderKey(lower) != name {
			t.Errorf("commonNames[%q] = %q, not the canonical form %q", lower, name, http.CanonicalHeaderKey(lower))
		}
	}
}
