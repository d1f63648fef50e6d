package lms

import (
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/httpipc/httpipc/oauth/bearer"
)

func TestAgentsAndActivities(t *testing.T) {
	_, ts := newTestServer(t, false)
	q1 := "https://math.example/q/1"
	for _, s := range []string{
		st("", "sam@school.example", completed, `{"id":"`+q1+`","definition":{"name":{"en-US":"Q1"},"type":"http://adlnet.gov/expapi/activities/cmi.interaction","interactionType":"choice","choices":[{"id":"a"}]}}`),
		st("", "ada@school.example", completed, `{"id":"`+q1+`","definition":{"name":{"de":"F1"},"description":{"de":"Frage"}}}`,
			`"context":{"contextActivities":{"parent":{"id":"https://math.example/unit","definition":{"name":{"en":"Unit"}}}}}`),
	} {
		if resp, body := callH(t, "POST", ts.URL+StatementsPath, s, nil); resp.StatusCode != 200 {
			t.Fatalf("post: %d %s", resp.StatusCode, body)
		}
	}
	agent := func(s string) string { return AgentsPath + "?agent=" + url.QueryEscape(s) }
	activity := func(id string) string { return ActivitiesPath + "?activityId=" + url.QueryEscape(id) }
	for _, tc := range []struct {
		name, method, path, version string
		status                      int
		contains                    string
	}{
		{"person", "GET", agent(`{"mbox":"mailto:sam@school.example","name":"Sam"}`), "1.0.3", 200, `{"mbox":["mailto:sam@school.example"],"name":["Sam"],"objectType":"Person"}`},
		{"person by account", "GET", agent(`{"objectType":"Agent","account":{"homePage":"https://lms.example","name":"7"}}`), "1.0.3", 200, `"account":[{"homePage":"https://lms.example","name":"7"}]`},
		{"person head", "HEAD", agent(`{"mbox":"mailto:sam@school.example"}`), "1.0.3", 200, ""},
		{"agents without agent", "GET", AgentsPath, "1.0.3", 400, "needs agent"},
		{"agents bad agent", "GET", agent(`{"mbox":"sam@school.example"}`), "1.0.3", 400, "mailto"},
		{"agents group", "GET", agent(`{"objectType":"Group","mbox":"mailto:g@school.example"}`), "1.0.3", 400, "objectType"},
		{"agents not JSON", "GET", agent(`sam`), "1.0.3", 400, "JSON"},
		{"agents other parameter", "GET", agent(`{"mbox":"mailto:sam@school.example"}`) + "&x=1", "1.0.3", 400, `"x"`},
		{"agents without version", "GET", agent(`{"mbox":"mailto:sam@school.example"}`), "", 400, "X-Experience-API-Version"},
		{"agents post", "POST", agent(`{"mbox":"mailto:sam@school.example"}`), "1.0.3", 405, ""},
		{"activity merged", "GET", activity(q1), "1.0.3", 200, `"definition":{"choices":[{"id":"a"}],"description":{"de":"Frage"},"interactionType":"choice","name":{"de":"F1","en-US":"Q1"},"type":"http://adlnet.gov/expapi/activities/cmi.interaction"}`},
		{"context activity", "GET", activity("https://math.example/unit"), "1.0.3", 200, `{"definition":{"name":{"en":"Unit"}},"id":"https://math.example/unit","objectType":"Activity"}`},
		{"unknown activity", "GET", activity("https://math.example/none"), "1.0.3", 200, `{"id":"https://math.example/none","objectType":"Activity"}`},
		{"activities without activityId", "GET", ActivitiesPath, "1.0.3", 400, "needs activityId"},
		{"activityId not an IRI", "GET", activity("q1"), "1.0.3", 400, "IRI"},
		{"activities without version", "GET", activity(q1), "", 400, "X-Experience-API-Version"},
		{"activities put", "PUT", activity(q1), "1.0.3", 405, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := callH(t, tc.method, ts.URL+tc.path, "", map[string]string{"X-Experience-API-Version": tc.version})
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.contains) {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, body, tc.status, tc.contains)
			}
			if tc.method == "HEAD" && body != "" {
				t.Errorf("HEAD answered a body: %q", body)
			}
		})
	}
}

// TestAboutWithoutCredentials: /xapi/about answers without credentials;
// the other resources do not.
func TestAboutWithoutCredentials(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "lms.db"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ts := httptest.NewServer(db.Handler(Options{Auth: bearer.Require(tokenMap{})}))
	defer ts.Close()
	for path, status := range map[string]int{AboutPath: 200, StatementsPath: 401, ActivitiesPath + "?activityId=http://x.example/": 401} {
		resp, body := callH(t, "GET", ts.URL+path, "", map[string]string{"X-Experience-API-Version": ""})
		if resp.StatusCode != status {
			t.Errorf("%s: %d %s, want %d", path, resp.StatusCode, body, status)
		}
	}
}
