package lms

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newTestServer(t *testing.T, outbox bool) (*DB, *httptest.Server) {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "lms.db"), outbox)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ts := httptest.NewServer(db.Handler(Options{}))
	t.Cleanup(ts.Close)
	return db, ts
}

func call(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("X-Experience-API-Version", "1.0.3")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const stmt = `{"actor":{"mbox":"mailto:sam@school.example"},"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"id":"https://math.example/lessons/fractions-1"}}`

func TestAPI(t *testing.T) {
	db, ts := newTestServer(t, true)
	id := NewStatementID()
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		contains                 string
	}{
		{"classes of a learner", "GET", RosteringPath + "/users/u-learner-1/classes", "", 200, `"classCode":"MATH-7B"`},
		{"unknown user", "GET", RosteringPath + "/users/nobody", "", 404, "no user"},
		{"line items", "GET", GradebookPath + "/lineItems", "", 200, "li-fractions-1"},
		{"put result", "PUT", GradebookPath + "/results/r-1", `{"result":{"lineItemSourcedId":"li-fractions-1","studentSourcedId":"u-learner-1","score":0.9}}`, 201, `"score":0.9`},
		{"put result again", "PUT", GradebookPath + "/results/r-1", `{"result":{"lineItemSourcedId":"li-fractions-1","studentSourcedId":"u-learner-1","score":0.95}}`, 200, `"score":0.95`},
		{"bad result", "PUT", GradebookPath + "/results/r-2", `{"result":{}}`, 400, "needs lineItemSourcedId"},
		{"put statement", "PUT", StatementsPath + "?statementId=" + id, stmt, 204, ""},
		{"put it again", "PUT", StatementsPath + "?statementId=" + id, stmt, 204, ""},
		{"conflicting", "PUT", StatementsPath + "?statementId=" + id, strings.Replace(stmt, "fractions-1", "fractions-2", 1), 409, ""},
		{"get by id", "GET", StatementsPath + "?statementId=" + id, "", 200, id},
		{"post two", "POST", StatementsPath, "[" + stmt + "," + stmt + "]", 200, "-"},
		{"no actor", "POST", StatementsPath, `{"verb":{"id":"x"},"object":{"id":"y"}}`, 400, "needs actor"},
		{"void it", "POST", StatementsPath, `{"actor":{"mbox":"mailto:ada@school.example"},"verb":{"id":"` + VerbVoided + `"},"object":{"objectType":"StatementRef","id":"` + id + `"}}`, 200, ""},
		{"voided is gone", "GET", StatementsPath + "?statementId=" + id, "", 404, ""},
		{"voided by its own id", "GET", StatementsPath + "?voidedStatementId=" + id, "", 200, id},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := call(t, tc.method, ts.URL+tc.path, tc.body)
			if code != tc.status || !strings.Contains(body, tc.contains) {
				t.Fatalf("got %d %s", code, body)
			}
		})
	}
	// Paging with limit and the more link.
	code, body := call(t, "GET", ts.URL+StatementsPath+"?limit=2", "")
	var page struct {
		Statements []json.RawMessage `json:"statements"`
		More       string            `json:"more"`
	}
	if json.Unmarshal([]byte(body), &page); code != 200 || len(page.Statements) != 2 || page.More == "" {
		t.Fatalf("first page: %d %s", code, body)
	}
	code, body = call(t, "GET", ts.URL+page.More, "")
	json.Unmarshal([]byte(body), &page)
	if code != 200 || len(page.Statements) != 1 || page.More != "" {
		t.Fatalf("second page: %d %s", code, body)
	}
	// since, in another zone's notation, keeps only later statements.
	code, body = call(t, "GET", ts.URL+StatementsPath+"?since="+url.QueryEscape(time.Now().Add(time.Hour).In(time.FixedZone("X", 3600)).Format(time.RFC3339)), "")
	if json.Unmarshal([]byte(body), &page); code != 200 || len(page.Statements) != 0 {
		t.Fatalf("since an hour ahead: %d %s", code, body)
	}
	code, body = call(t, "GET", ts.URL+StatementsPath+"?since="+url.QueryEscape(time.Now().Add(-time.Hour).In(time.FixedZone("Y", -7200)).Format(time.RFC3339)), "")
	if json.Unmarshal([]byte(body), &page); code != 200 || len(page.Statements) != 3 {
		t.Fatalf("since an hour ago: %d %s", code, body)
	}
	// Version header required.
	req, _ := http.NewRequest("GET", ts.URL+StatementsPath, nil)
	resp, _ := http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("without the version header: %d", resp.StatusCode)
	}
	// Every write is in the outbox: two results, four statements.
	if n, _ := db.Pending(t.Context()); n != 6 {
		t.Fatalf("outbox holds %d writes, want 6", n)
	}
}
