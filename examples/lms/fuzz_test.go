package lms

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"reflect"
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
		list, _, _, err := readStatements(r)
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

// FuzzAgentParam feeds the agent parameter decoder arbitrary text: it
// accepts only JSON Agents or Groups with exactly one identifier, whose
// key is stable, and never panics.
func FuzzAgentParam(f *testing.F) {
	f.Add(`{"mbox":"mailto:sam@school.example"}`)
	f.Add(`{"objectType":"Group","account":{"homePage":"https://lms.example","name":"7b"},"member":[{"openid":"http://x.example/"}]}`)
	f.Add(`{"mbox_sha1sum":"0123456789abcdef0123456789abcdef01234567"}`)
	f.Add(`{"objectType":"Group","member":[]}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		key, err := parseAgentParam(s)
		if err != nil {
			if !errors.Is(err, errBadStatement) {
				t.Fatalf("error %v is not a 400", err)
			}
			return
		}
		if key == "" {
			t.Fatalf("accepted %q without a key", s)
		}
		var v any
		if json.Unmarshal([]byte(s), &v) != nil {
			t.Fatalf("accepted %q, not JSON", s)
		}
		if again, _ := parseAgentParam(s); again != key {
			t.Fatalf("key %q then %q", key, again)
		}
	})
}

// FuzzMerge feeds the document merge arbitrary documents: the result is a
// JSON object holding every property posted, with the posted value, and
// old's other properties; a refusal is a 400.
func FuzzMerge(f *testing.F) {
	f.Add(`{"x":"foo","y":"bar"}`, `{"x":"bash","z":"faz"}`)
	f.Add(``, `{"a":{"b":1}}`)
	f.Add(`[1]`, `{}`)
	f.Add(`{}`, `null`)
	f.Fuzz(func(t *testing.T, old, posted string) {
		var o []byte
		if old != "" {
			o = []byte(old)
		}
		got, err := mergeJSON(o, []byte(posted))
		if err != nil {
			if !errors.Is(err, errBadStatement) {
				t.Fatalf("error %v is not a 400", err)
			}
			return
		}
		var g, p, om map[string]json.RawMessage
		if json.Unmarshal(got, &g) != nil || json.Unmarshal([]byte(posted), &p) != nil {
			t.Fatalf("merge of %q into %q gave %q", posted, old, got)
		}
		if o != nil {
			json.Unmarshal(o, &om)
		}
		for k, v := range p {
			if !jsonEqual(g[k], v) {
				t.Fatalf("property %q is %s, posted %s", k, g[k], v)
			}
		}
		for k, v := range om {
			if _, posted := p[k]; !posted && !jsonEqual(g[k], v) {
				t.Fatalf("property %q is %s, was %s", k, g[k], v)
			}
		}
	})
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// FuzzMultipart feeds the multipart/mixed statement decoder arbitrary
// bodies: it returns a statements part and parts whose content has the
// hash they are filed under, or a 400, and never panics.
func FuzzMultipart(f *testing.F) {
	text := "here is a simple attachment"
	f.Add(multipartBody(st("", "sam@school.example", completed, lesson1, `"attachments":[`+attachment("http://x.example/u", "text/plain", text)+`]`), part{"text/plain", "", sha256Hex(text), text}))
	f.Add(multipartBody(stmt))
	f.Add("--" + testBoundary + "\r\nContent-Type: application/json\r\n\r\n{}\r\n--" + testBoundary)
	f.Add("\r\n--" + testBoundary + "--")
	f.Fuzz(func(t *testing.T, body string) {
		stmts, parts, err := readMultipart(strings.NewReader(body), testBoundary)
		if err != nil {
			if !errors.Is(err, errBadStatement) {
				t.Fatalf("error %v is not a 400", err)
			}
			return
		}
		if stmts == nil || len(stmts) > maxStatementBody {
			t.Fatalf("statements part of %d bytes", len(stmts))
		}
		for h, p := range parts {
			if sha2Hex(h, p.body) != h {
				t.Fatalf("part filed under %s has another hash", h)
			}
		}
		list, _, err := decodeStatements(stmts)
		if err == nil {
			if err := checkParts(list, parts); err != nil && !errors.Is(err, errBadStatement) {
				t.Fatalf("checkParts: %v is not a 400", err)
			}
		}
	})
}

// FuzzSignature feeds the statement signature check arbitrary JWS text:
// it accepts or refuses with a 400, and never panics.
func FuzzSignature(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
	f.Add("a.b.c")
	f.Add(`eyJhbGciOiJSUzI1NiIsIng1YyI6WyJNSUkiXX0.e30.`)
	f.Fuzz(func(t *testing.T, jws string) {
		var s map[string]any
		json.Unmarshal([]byte(stmt), &s)
		if err := checkSignature(s, []byte(jws)); err != nil && !errors.Is(err, errBadStatement) {
			t.Fatalf("error %v is not a 400", err)
		}
	})
}
