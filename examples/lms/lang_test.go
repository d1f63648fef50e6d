package lms

import (
	"strings"
	"testing"
)

// TestCanonicalFormat: format=canonical keeps the language Accept-Language
// prefers; exact keeps all; a single context activity comes back in an
// array.
func TestCanonicalFormat(t *testing.T) {
	_, ts := newTestServer(t, false)
	id := NewStatementID()
	s := `{"id":"` + id + `","actor":{"mbox":"mailto:sam@school.example","name":"Sam"},"verb":{"id":"` + completed + `","display":{"en-US":"completed","en-GB":"completed (GB)","de":"abgeschlossen"}},` +
		`"object":{"id":"https://math.example/l/1","definition":{"name":{"en-US":"Lesson","de":"Lektion"}}},` +
		`"context":{"contextActivities":{"category":{"id":"https://math.example/c","definition":{"description":{"en-US":"US","en-GB":"GB"}}}}}}`
	if resp, body := callH(t, "POST", ts.URL+StatementsPath, s, nil); resp.StatusCode != 200 {
		t.Fatalf("post: %d %s", resp.StatusCode, body)
	}
	for _, tc := range []struct {
		name, query, accept string
		want, notWant       []string
	}{
		{"en-GB", "&format=canonical", "en-GB", []string{`"display":{"en-GB":"completed (GB)"}`, `"name":{"en-US":"Lesson"}`, `"description":{"en-GB":"GB"}`, `"name":"Sam"`}, []string{`"de"`}},
		{"q values", "&format=canonical", "fr, de;q=0.9, en;q=0.8", []string{`"display":{"de":"abgeschlossen"}`, `"name":{"de":"Lektion"}`, `"description":{"en-GB":"GB"}`}, []string{`"en-US":"completed"`}},
		{"no header", "&format=canonical", "", []string{`"display":{"de":"abgeschlossen"}`}, []string{`"en-GB":"completed (GB)"`}},
		{"exact", "", "en-GB", []string{`"en-US":"completed"`, `"de":"abgeschlossen"`, `"category":[{`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"?statementId=" + id, "?verb=" + completed} {
				_, body := callH(t, "GET", ts.URL+StatementsPath+path+tc.query, "", map[string]string{"Accept-Language": tc.accept})
				for _, w := range tc.want {
					if !strings.Contains(body, w) {
						t.Errorf("%s: no %s in %s", path, w, body)
					}
				}
				for _, w := range tc.notWant {
					if strings.Contains(body, w) {
						t.Errorf("%s: %s in %s", path, w, body)
					}
				}
			}
		})
	}
}
