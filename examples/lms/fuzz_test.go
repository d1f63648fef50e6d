package lms

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzReadStatements feeds the xAPI statement decoder arbitrary bodies: it
// returns statements that have actor, verb and object, or an error that
// says the statement is bad, and never panics.
func FuzzReadStatements(f *testing.F) {
	f.Add(stmt)
	f.Add("[" + stmt + "," + stmt + "]")
	f.Add(`{"actor":{},"verb":{"id":"` + VerbVoided + `"},"object":{"objectType":"StatementRef","id":1}}`)
	f.Add(`[null]`)
	f.Add(`{"id":"not-a-uuid","actor":1,"verb":2,"object":3}`)
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", StatementsPath, strings.NewReader(body))
		list, _, err := readStatements(r)
		if err != nil {
			if !errors.Is(err, errBadStatement) {
				t.Fatalf("error %v does not say the statement is bad", err)
			}
			return
		}
		for _, s := range list {
			if s["actor"] == nil || s["verb"] == nil || s["object"] == nil {
				t.Fatalf("accepted %v", s)
			}
		}
	})
}
