package lms

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// st builds a statement from an actor mbox, a verb and an object.
func st(id, mbox, verb, object string, extra ...string) string {
	s := `{"actor":{"mbox":"mailto:` + mbox + `"},"verb":{"id":"` + verb + `"},"object":` + object
	if id != "" {
		s += `,"id":"` + id + `"`
	}
	for _, e := range extra {
		s += "," + e
	}
	return s + "}"
}

const (
	completed = "http://adlnet.gov/expapi/verbs/completed"
	attempted = "http://adlnet.gov/expapi/verbs/attempted"
	lesson1   = `{"id":"https://math.example/lessons/fractions-1"}`
	lesson2   = `{"id":"https://math.example/lessons/fractions-2"}`
)

func ref(id string) string { return `{"objectType":"StatementRef","id":"` + id + `"}` }

func callH(t *testing.T, method, u, body string, h map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	req.Header.Set("X-Experience-API-Version", "1.0.3")
	req.Header.Set("Content-Type", "application/json")
	for k, v := range h {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp, b.String()
}

func TestStatementRules(t *testing.T) {
	_, ts := newTestServer(t, true)
	a, b, c, v1, v2, upper := NewStatementID(), NewStatementID(), NewStatementID(), NewStatementID(), NewStatementID(), NewStatementID()
	reg := NewStatementID()
	for _, tc := range []struct {
		name, method, query, body string
		status                    int
		contains                  string
	}{
		{"post one", "POST", "", st(a, "sam@school.example", completed, lesson1), 200, `["` + a + `"]`},
		{"post an array", "POST", "", "[" + st(b, "ada@school.example", attempted, lesson2, `"context":{"registration":"`+reg+`","contextActivities":{"parent":[{"id":"https://math.example/units/fractions"}]}}`) + "," + st("", "sam@school.example", attempted, lesson1) + "]", 200, `"` + b + `"`},
		{"same content again", "POST", "", st(a, "SAM@school.example", completed, lesson1, `"stored":"2001-01-01T00:00:00Z"`, `"version":"1.0.0"`), 200, a},
		{"same id, other content", "POST", "", st(a, "sam@school.example", completed, lesson2), 409, "different statement"},
		{"batch repeats an id", "POST", "", "[" + st(c, "sam@school.example", completed, lesson1) + "," + st(c, "sam@school.example", completed, lesson1) + "]", 400, "twice"},
		{"empty array", "POST", "", "[]", 400, "empty"},
		{"put", "PUT", "?statementId=" + c, st("", "sam@school.example", completed, lesson2), 204, ""},
		{"put same again", "PUT", "?statementId=" + c, st(c, "sam@school.example", completed, lesson2), 204, ""},
		{"put other content", "PUT", "?statementId=" + c, st("", "sam@school.example", attempted, lesson2), 409, ""},
		{"put an array", "PUT", "?statementId=" + NewStatementID(), "[" + st("", "sam@school.example", completed, lesson1) + "]", 400, "not an array"},
		{"put without id", "PUT", "", st("", "sam@school.example", completed, lesson1), 400, "statementId"},
		{"put id mismatch", "PUT", "?statementId=" + NewStatementID(), st(a, "sam@school.example", completed, lesson1), 400, "differs"},
		{"put upper-case id", "PUT", "?statementId=" + strings.ToUpper(upper), st("", "sam@school.example", completed, lesson1), 204, ""},
		{"bad id", "POST", "", st("1234", "sam@school.example", completed, lesson1), 400, "not a UUID"},
		{"unknown property", "POST", "", st("", "sam@school.example", completed, lesson1, `"foo":1`), 400, `unknown property "foo"`},
		{"actor without identifier", "POST", "", `{"actor":{"name":"Sam"},"verb":{"id":"` + completed + `"},"object":` + lesson1 + `}`, 400, "needs one identifier"},
		{"actor with two identifiers", "POST", "", `{"actor":{"mbox":"mailto:a@b.c","openid":"http://a.example/"},"verb":{"id":"` + completed + `"},"object":` + lesson1 + `}`, 400, "more than one identifier"},
		{"mbox without mailto", "POST", "", `{"actor":{"mbox":"a@b.c"},"verb":{"id":"` + completed + `"},"object":` + lesson1 + `}`, 400, "mailto"},
		{"anonymous group without members", "POST", "", `{"actor":{"objectType":"Group"},"verb":{"id":"` + completed + `"},"object":` + lesson1 + `}`, 400, "without members"},
		{"verb not an IRI", "POST", "", st("", "sam@school.example", "completed", lesson1), 400, "verb.id"},
		{"activity id not an IRI", "POST", "", st("", "sam@school.example", completed, `{"id":"fractions"}`), 400, "object.id"},
		{"unknown object type", "POST", "", st("", "sam@school.example", completed, `{"objectType":"Thing","id":"http://x.example/"}`), 400, "objectType"},
		{"scaled out of range", "POST", "", st("", "sam@school.example", completed, lesson1, `"result":{"score":{"scaled":1.5}}`), 400, "scaled"},
		{"bad registration", "POST", "", st("", "sam@school.example", completed, lesson1, `"context":{"registration":"r1"}`), 400, "registration"},
		{"bad timestamp", "POST", "", st("", "sam@school.example", completed, lesson1, `"timestamp":"yesterday"`), 400, "timestamp"},
		{"version 2.0", "POST", "", st("", "sam@school.example", completed, lesson1, `"version":"2.0.0"`), 400, "version"},
		{"nested substatement", "POST", "", st("", "sam@school.example", completed, `{"objectType":"SubStatement","actor":{"mbox":"mailto:a@b.c"},"verb":{"id":"`+completed+`"},"object":{"objectType":"SubStatement"}}`), 400, "not nested"},
		{"voiding needs a StatementRef", "POST", "", st("", "sam@school.example", VerbVoided, lesson1), 400, "StatementRef"},
		{"void a", "POST", "", st(v1, "teacher@school.example", VerbVoided, ref(a)), 200, v1},
		{"void the voiding", "POST", "", st("", "teacher@school.example", VerbVoided, ref(v1)), 400, "cannot be voided"},
		{"void a voiding one in the same batch", "POST", "", "[" + st(v2, "t@school.example", VerbVoided, ref(NewStatementID())) + "," + st("", "t@school.example", VerbVoided, ref(v2)) + "]", 400, "cannot be voided"},
		{"voided is not returned", "GET", "?statementId=" + a, "", 404, ""},
		{"voided by voidedStatementId", "GET", "?voidedStatementId=" + a, "", 200, a},
		{"not voided by voidedStatementId", "GET", "?voidedStatementId=" + b, "", 404, ""},
		{"upper-case statementId", "GET", "?statementId=" + strings.ToUpper(b), "", 200, b},
		{"both ids", "GET", "?statementId=" + b + "&voidedStatementId=" + a, "", 400, ""},
		{"id and a filter", "GET", "?statementId=" + b + "&verb=" + completed, "", 400, "verb"},
		{"id with format", "GET", "?statementId=" + b + "&format=ids", "", 200, `"verb":{"id":"` + attempted + `"}`},
		{"unknown parameter", "GET", "?color=red", "", 400, "color"},
		{"bad agent", "GET", "?agent=" + url.QueryEscape(`{"name":"x"}`), "", 400, "identifier"},
		{"agent not JSON", "GET", "?agent=sam", "", 400, "not JSON"},
		{"bad limit", "GET", "?limit=-1", "", 400, "limit"},
		{"bad format", "GET", "?format=full", "", 400, "format"},
		{"bad since", "GET", "?since=monday", "", 400, "since"},
		{"bad ascending", "GET", "?ascending=yes", "", 400, "ascending"},
		{"bad registration filter", "GET", "?registration=x", "", 400, "registration"},
		{"multipart", "POST", "", "--x--", 400, "multipart"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.name == "multipart" {
				h["Content-Type"] = "multipart/mixed; boundary=x"
			}
			resp, body := callH(t, tc.method, ts.URL+StatementsPath+tc.query, tc.body, h)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.contains) {
				t.Fatalf("got %d %s", resp.StatusCode, body)
			}
			if resp.StatusCode == 400 && strings.Count(strings.TrimSpace(body), "\n") > 0 {
				t.Errorf("reason is not one line: %q", body)
			}
			if resp.Header.Get("X-Experience-API-Version") != "1.0.3" {
				t.Errorf("no X-Experience-API-Version 1.0.3 in the response")
			}
			if resp.Header.Get("X-Experience-API-Consistent-Through") == "" {
				t.Errorf("no X-Experience-API-Consistent-Through")
			}
		})
	}

	// A statement after the one voiding it arrives voided.
	late, voider := NewStatementID(), NewStatementID()
	if r, body := callH(t, "POST", ts.URL+StatementsPath, st(voider, "t@school.example", VerbVoided, ref(late)), nil); r.StatusCode != 200 {
		t.Fatalf("voiding a statement not yet here: %d %s", r.StatusCode, body)
	}
	callH(t, "PUT", ts.URL+StatementsPath+"?statementId="+late, st("", "sam@school.example", completed, lesson1), nil)
	if r, _ := callH(t, "GET", ts.URL+StatementsPath+"?voidedStatementId="+late, "", nil); r.StatusCode != 200 {
		t.Fatalf("the late statement is not voided: %d", r.StatusCode)
	}

	// Filters. Statements: a (voided), b, the anonymous one, c, upper, the
	// voiding ones v1, voider; late is voided.
	sam := url.QueryEscape(`{"mbox":"mailto:sam@school.example"}`)
	for _, tc := range []struct {
		name, query string
		want        int
	}{
		{"all", "", 6},
		// Sam's three, and the two voiding statements whose targets are Sam's.
		{"agent", "?agent=" + sam, 5},
		{"agent, other case", "?agent=" + url.QueryEscape(`{"mbox":"mailto:Sam@School.example"}`), 5},
		{"agent ada", "?agent=" + url.QueryEscape(`{"mbox":"mailto:ada@school.example"}`), 1},
		{"verb", "?verb=" + completed, 4},
		{"verb voided, refs of voided statements included", "?verb=" + VerbVoided, 2},
		{"activity", "?activity=" + url.QueryEscape("https://math.example/lessons/fractions-2"), 2},
		{"parent activity needs related_activities", "?activity=" + url.QueryEscape("https://math.example/units/fractions"), 0},
		{"related_activities", "?related_activities=true&activity=" + url.QueryEscape("https://math.example/units/fractions"), 1},
		{"registration", "?registration=" + reg, 1},
		{"agent and verb", "?agent=" + sam + "&verb=" + attempted, 1},
		{"targeting statement matches through its target", "?agent=" + url.QueryEscape(`{"mbox":"mailto:sam@school.example"}`) + "&verb=" + VerbVoided, 2},
		{"until long ago", "?until=2001-01-01T00:00:00Z", 0},
		{"since long ago", "?since=2001-01-01T00:00:00%2B02:00", 6},
		{"format ids", "?format=ids", 6},
		{"format canonical", "?format=canonical", 6},
	} {
		t.Run("filter "+tc.name, func(t *testing.T) {
			resp, body := callH(t, "GET", ts.URL+StatementsPath+tc.query, "", nil)
			var res struct {
				Statements []map[string]any `json:"statements"`
				More       string           `json:"more"`
			}
			if err := json.Unmarshal([]byte(body), &res); err != nil || resp.StatusCode != 200 || len(res.Statements) != tc.want {
				t.Fatalf("got %d, %d statements: %s", resp.StatusCode, len(res.Statements), body)
			}
			if _, err := time.Parse(time.RFC3339Nano, resp.Header.Get("X-Experience-API-Consistent-Through")); err != nil {
				t.Errorf("X-Experience-API-Consistent-Through: %v", err)
			}
			for _, s := range res.Statements {
				if s["id"] == a || s["id"] == late {
					t.Errorf("a voided statement in a query: %v", s["id"])
				}
			}
		})
	}

	// Order: newest first unless ascending; paging with more keeps the
	// filters and the order.
	for _, asc := range []string{"", "&ascending=true"} {
		var seen []string
		next := StatementsPath + "?limit=2" + asc
		for next != "" {
			resp, body := callH(t, "GET", ts.URL+next, "", nil)
			var res struct {
				Statements []map[string]any `json:"statements"`
				More       string           `json:"more"`
			}
			if json.Unmarshal([]byte(body), &res); resp.StatusCode != 200 || len(res.Statements) > 2 {
				t.Fatalf("page %s: %d %s", next, resp.StatusCode, body)
			}
			for _, s := range res.Statements {
				seen = append(seen, s["stored"].(string)+" "+s["id"].(string))
			}
			next = res.More
		}
		if len(seen) != 6 {
			t.Fatalf("paging%s saw %d statements, want 6", asc, len(seen))
		}
		for i := 1; i < len(seen); i++ {
			if asc == "" && seen[i] > seen[i-1] && seen[i][:24] != seen[i-1][:24] || asc != "" && seen[i][:24] < seen[i-1][:24] {
				t.Errorf("paging%s out of order: %v", asc, seen)
			}
		}
	}

	// format=ids keeps only identifiers.
	_, body := callH(t, "GET", ts.URL+StatementsPath+"?format=ids&registration="+reg, "", nil)
	if !strings.Contains(body, `"parent":[{"id":"https://math.example/units/fractions"}]`) {
		t.Errorf("format=ids: %s", body)
	}
}

func TestVersionHeader(t *testing.T) {
	_, ts := newTestServer(t, false)
	for _, tc := range []struct {
		name, path, version string
		status              int
		contains            string
	}{
		{"about without a version", AboutPath, "", 200, `{"version":["1.0.3"]}`},
		{"about with one", AboutPath, "1.0.3", 200, `"1.0.3"`},
		{"about with 2.0", AboutPath, "2.0.0", 400, "not supported"},
		{"statements without", StatementsPath, "", 400, "required"},
		{"statements 1.0", StatementsPath, "1.0", 200, "statements"},
		{"statements 1.0.0", StatementsPath, "1.0.0", 200, "statements"},
		{"statements 1.0.9", StatementsPath, "1.0.9", 200, "statements"},
		{"statements 1.1.0", StatementsPath, "1.1.0", 400, "not supported"},
		{"statements 0.95", StatementsPath, "0.95", 400, "not supported"},
		{"statements 2.0.0", StatementsPath, "2.0.0", 400, "not supported"},
		{"statements 1.0.x", StatementsPath, "1.0.x", 400, "not supported"},
		{"state without", StatePath, "", 400, "required"},
		{"agent profile 1.2", AgentProfilePath, "1.2", 400, "not supported"},
		{"activity profile without", ActivityProfilePath, "", 400, "required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := callH(t, "GET", ts.URL+tc.path, "", map[string]string{"X-Experience-API-Version": tc.version})
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.contains) {
				t.Fatalf("got %d %s", resp.StatusCode, body)
			}
			if resp.Header.Get("X-Experience-API-Version") != "1.0.3" {
				t.Errorf("response version %q", resp.Header.Get("X-Experience-API-Version"))
			}
		})
	}
}
