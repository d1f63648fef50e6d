package lms

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/httpipc/httpipc/oauth/bearer"
	"github.com/httpipc/httpipc/peercred"
)

type tokenMap map[string]*bearer.Token

func (m tokenMap) Verify(_ context.Context, tok string, _ *peercred.Creds) (*bearer.Token, error) {
	if t, ok := m[tok]; ok {
		return t, nil
	}
	return nil, bearer.ErrInvalidToken
}

// TestAuthority: the LRS sets a statement's authority from the
// credentials it came with, replacing one the statement carries, except
// for a relay's.
func TestAuthority(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "lms.db"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	toks := tokenMap{
		"app":   {Subject: "sam", ClientID: "mathapp"},
		"user":  {Subject: "sam"},
		"cmi5":  {Subject: `{"objectType":"Agent","account":{"homePage":"https://lms.example","name":"sam"}}`, ClientID: "cmi5-au"},
		"relay": {Subject: "lms-device", ClientID: "lms-sync"},
	}
	ts := httptest.NewServer(db.Handler(Options{Auth: bearer.Require(toks), AuthorityHomePage: "https://lms.example", Relays: []string{"lms-sync"}}))
	defer ts.Close()
	const given = `"authority":{"mbox":"mailto:someone@else.example"}`
	for _, tc := range []struct {
		name, token, extra, want string
	}{
		{"app for a user", "app", "", `"authority":{"member":[{"account":{"homePage":"https://lms.example","name":"mathapp"},"objectType":"Agent"},{"account":{"homePage":"https://lms.example","name":"sam"},"objectType":"Agent"}],"objectType":"Group"}`},
		{"user alone", "user", "", `"authority":{"account":{"homePage":"https://lms.example","name":"sam"},"objectType":"Agent"}`},
		{"cmi5 session", "cmi5", "", `{"account":{"homePage":"https://lms.example","name":"sam"},"objectType":"Agent"}],"objectType":"Group"}`},
		{"given authority replaced", "user", given, `"authority":{"account":{"homePage":"https://lms.example","name":"sam"},"objectType":"Agent"}`},
		{"relay keeps it", "relay", given, `"authority":{"mbox":"mailto:someone@else.example"}`},
		{"relay without one", "relay", "", `"authority":{"member":[{"account":{"homePage":"https://lms.example","name":"lms-sync"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := NewStatementID()
			var extra []string
			if tc.extra != "" {
				extra = append(extra, tc.extra)
			}
			h := map[string]string{"Authorization": "Bearer " + tc.token}
			if resp, body := callH(t, "PUT", ts.URL+StatementsPath+"?statementId="+id, st("", "sam@school.example", completed, lesson1, extra...), h); resp.StatusCode != 204 {
				t.Fatalf("put: %d %s", resp.StatusCode, body)
			}
			if resp, body := callH(t, "GET", ts.URL+StatementsPath+"?statementId="+id, "", h); !strings.Contains(body, tc.want) {
				t.Fatalf("got %d %s, want %s", resp.StatusCode, body, tc.want)
			}
			// The same statement again, with its authority, is no conflict.
			if resp, body := callH(t, "POST", ts.URL+StatementsPath, st(id, "sam@school.example", completed, lesson1, extra...), h); resp.StatusCode != 200 {
				t.Fatalf("again: %d %s", resp.StatusCode, body)
			}
		})
	}
}
