package lms

import (
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/httpipc/httpipc/oauth/bearer"
)

// TestAlternateSyntax: a form POST with ?method= is the request it stands
// for, headers (credentials included) and parameters taken from the form.
func TestAlternateSyntax(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "lms.db"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ts := httptest.NewServer(db.Handler(Options{Auth: bearer.Require(tokenMap{"t": {Subject: "sam"}})}))
	defer ts.Close()
	id := NewStatementID()
	stmt := st("", "sam@school.example", completed, lesson1)
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	auth := []string{"Authorization", "Bearer t", "X-Experience-API-Version", "1.0.3"}
	const formType = "application/x-www-form-urlencoded"
	state := "activityId=" + url.QueryEscape("https://math.example/l") + "&agent=" + url.QueryEscape(`{"mbox":"mailto:sam@school.example"}`) + "&stateId=s"
	sq, _ := url.ParseQuery(state)
	for _, tc := range []struct {
		name, method, query, body, ctype string
		status                           int
		contains                         string
	}{
		{"put a statement", "POST", "?method=PUT", form(append(auth, "statementId", id, "content", stmt)...), formType, 204, ""},
		{"get it", "POST", "?method=GET", form(append(auth, "statementId", id)...), formType, 200, id},
		{"get a list", "POST", "?method=GET", form(append(auth, "limit", "1")...), formType, 200, `"more"`},
		{"post statements", "POST", "?method=POST", form(append(auth, "content", stmt)...), formType, 200, `["`},
		{"credentials in the form only", "POST", "?method=GET", form("X-Experience-API-Version", "1.0.3", "statementId", id), formType, 401, ""},
		{"version from the form", "POST", "?method=GET", form("Authorization", "Bearer t", "X-Experience-API-Version", "0.8", "statementId", id), formType, 400, "0.8"},
		{"state put", "POST", "?method=PUT", form(append(auth, "activityId", sq.Get("activityId"), "agent", sq.Get("agent"), "stateId", "s", "Content-Type", "text/plain", "content", "hello")...), formType, 204, ""},
		{"state get", "POST", "?method=GET", form(append(auth, "activityId", sq.Get("activityId"), "agent", sq.Get("agent"), "stateId", "s")...), formType, 200, "hello"},
		{"state delete", "POST", "?method=DELETE", form(append(auth, "activityId", sq.Get("activityId"), "agent", sq.Get("agent"), "stateId", "s")...), formType, 204, ""},
		{"not a POST", "PUT", "?method=POST", form(append(auth, "content", stmt)...), formType, 400, "is a POST"},
		{"other query parameters", "POST", "?method=PUT&statementId=" + id, form(append(auth, "content", stmt)...), formType, 400, "only method"},
		{"unknown method", "POST", "?method=PATCH", form(auth...), formType, 400, "PATCH"},
		{"not a form", "POST", "?method=PUT", `{"statementId":"` + id + `"}`, "application/json", 400, "x-www-form-urlencoded"},
		{"no content", "POST", "?method=PUT", form(append(auth, "statementId", NewStatementID())...), formType, 400, ""},
		{"bad form", "POST", "?method=GET", "a=%zz", formType, 400, "URL-encoded"},
		{"parameter twice", "POST", "?method=GET", form(auth...) + "&limit=1&limit=2", formType, 400, "twice"},
		{"a form without method", "POST", "", form(append(auth, "content", stmt)...), formType, 401, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := callH(t, tc.method, ts.URL+pathOf(tc.name)+tc.query, tc.body, map[string]string{"Content-Type": tc.ctype, "X-Experience-API-Version": ""})
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.contains) {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, body, tc.status, tc.contains)
			}
			if resp.StatusCode == 400 && strings.Count(strings.TrimSpace(body), "\n") > 0 {
				t.Errorf("reason is not one line: %q", body)
			}
		})
	}
}

func pathOf(name string) string {
	if strings.HasPrefix(name, "state") {
		return StatePath
	}
	return StatementsPath
}
