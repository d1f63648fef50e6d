package lms

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/httpipc/httpipc/oauth/bearer"
	"github.com/httpipc/httpipc/peercred"
)

// The Syncer pushes documents as they are on the device: PUT of the
// content (profiles that exist upstream are overwritten with If-Match: *,
// new ones created with If-None-Match: *), DELETE when gone; pushing twice
// changes nothing.
func TestSyncDocuments(t *testing.T) {
	devDB, dev := newTestServer(t, true)
	_, up := newTestServer(t, false)
	devStore := dev.URL
	sam := url.QueryEscape(`{"mbox":"mailto:sam@school.example"}`)
	act := url.QueryEscape("https://math.example/lessons/fractions-1")
	state := StatePath + "?activityId=" + act + "&agent=" + sam
	aprof := AgentProfilePath + "?agent=" + sam
	xprof := ActivityProfilePath + "?activityId=" + act
	must := func(base, method, path, body string, h map[string]string, want int) string {
		t.Helper()
		resp, b := callH(t, method, base+path, body, h)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return b
	}
	// The online server already has a version of the activity profile.
	must(up.URL, "PUT", xprof+"&profileId=p1", `{"v":"online"}`, nil, 204)
	// On the device: states, profiles, a deletion.
	must(devStore, "PUT", state+"&stateId=bookmark", `{"page":3}`, nil, 204)
	must(devStore, "POST", state+"&stateId=bookmark", `{"score":1}`, nil, 204)
	must(devStore, "PUT", state+"&stateId=gone", `x`, map[string]string{"Content-Type": "text/plain"}, 204)
	must(devStore, "DELETE", state+"&stateId=gone", "", nil, 204)
	must(devStore, "PUT", aprof+"&profileId=prefs", `{"lang":"en"}`, nil, 204)
	must(devStore, "PUT", xprof+"&profileId=p1", `<device/>`, map[string]string{"Content-Type": "application/xml"}, 204)

	s := &Syncer{DB: devDB, Upstream: up.URL, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for round := 0; round < 2; round++ {
		if _, err := s.Once(t.Context()); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if n, _ := s.DB.Pending(t.Context()); n != 0 {
			t.Fatalf("round %d: %d writes left", round, n)
		}
		if got := must(up.URL, "GET", state+"&stateId=bookmark", "", nil, 200); got != `{"page":3,"score":1}` {
			t.Errorf("state upstream: %s", got)
		}
		must(up.URL, "GET", state+"&stateId=gone", "", nil, 404)
		if got := must(up.URL, "GET", aprof+"&profileId=prefs", "", nil, 200); got != `{"lang":"en"}` {
			t.Errorf("agent profile upstream: %s", got)
		}
		resp, got := callH(t, "GET", up.URL+xprof+"&profileId=p1", "", nil)
		if got != `<device/>` || resp.Header.Get("Content-Type") != "application/xml" {
			t.Errorf("activity profile upstream: %s %s", resp.Header.Get("Content-Type"), got)
		}
		// Push the same again: the same end state.
		must(devStore, "POST", state+"&stateId=bookmark", `{"score":1}`, nil, 204)
	}
}

// The online server applies a pushed write once: a second delivery of the
// same write id is answered as one and changes nothing, also for a write
// that changed nothing the first time; write ids are per principal; and
// a delivery that finds its id recorded when it commits is rolled back.
func TestSyncWriteIDs(t *testing.T) {
	upDB, up := newTestServer(t, false)
	sam := url.QueryEscape(`{"mbox":"mailto:sam@school.example"}`)
	gone := StatePath + "?activityId=" + url.QueryEscape("https://math.example/lessons/fractions-1") + "&agent=" + sam + "&stateId=gone"
	result := func(score string) string {
		return `{"result":{"lineItemSourcedId":"li-fractions-1","studentSourcedId":"u-learner-1","score":` + score + `}}`
	}
	id := NewStatementID()
	writes := []struct{ method, path, body, id string }{
		{"PUT", StatementsPath + "?statementId=" + id, stmt, "dev/1"},
		{"PUT", GradebookPath + "/results/r-9", result("1"), "dev/2"},
		{"DELETE", gone, "", "dev/3"}, // a write that changes nothing
	}
	for round := range 2 {
		for _, w := range writes {
			resp, b := callH(t, w.method, up.URL+w.path, w.body, map[string]string{WriteIDHeader: w.id})
			if resp.StatusCode/100 != 2 {
				t.Fatalf("round %d: %s %s: %d %s", round, w.method, w.path, resp.StatusCode, b)
			}
			if again := resp.Header.Get(WriteStatusHeader) == "applied-before"; again != (round == 1) {
				t.Errorf("round %d: %s %s: %s %q", round, w.method, w.path, WriteStatusHeader, resp.Header.Get(WriteStatusHeader))
			}
		}
	}
	for _, w := range writes {
		var n, re int
		upDB.db.QueryRow(`SELECT applications, redeliveries FROM applied WHERE principal = '' AND writeId = ?`, w.id).Scan(&n, &re)
		if n != 1 || re != 1 {
			t.Errorf("write %s: applied %d times, %d redeliveries; want 1 and 1", w.id, n, re)
		}
	}

	// A redelivery is the same write, whatever it carries: not applied.
	callH(t, "PUT", up.URL+GradebookPath+"/results/r-9", result("0.5"), map[string]string{WriteIDHeader: "dev/2"})
	if r, err := upDB.results("WHERE sourcedId = 'r-9'"); err != nil || len(r) != 1 || r[0].Score != 1 {
		t.Errorf("result r-9 after a redelivery: %+v %v", r, err)
	}

	// A delivery that finds its id recorded when it commits (another
	// delivery got there first) rolls back.
	ctx := context.WithValue(t.Context(), pushedWriteKey{}, &pushedWrite{id: "dev/1"})
	other := NewStatementID()
	var s map[string]any
	json.Unmarshal([]byte(stmt), &s)
	s["id"] = other
	if _, err := upDB.storeStatements(ctx, []map[string]any{s}, nil); !errors.Is(err, errAppliedBefore) {
		t.Errorf("storing under a recorded write id: %v", err)
	}
	if code, _ := call(t, "GET", up.URL+StatementsPath+"?statementId="+other, ""); code != 404 {
		t.Errorf("the statement of a rolled back write: %d", code)
	}

	// Write ids are per principal: another client's use of an id does not
	// make this one's write a redelivery.
	tokens := verifierFunc(func(tok string) (*bearer.Token, error) {
		if tok == "a" || tok == "b" {
			return &bearer.Token{ClientID: tok, Subject: "s"}, nil
		}
		return nil, bearer.ErrInvalidToken
	})
	auth := httptest.NewServer(upDB.Handler(Options{Auth: bearer.Require(tokens)}))
	defer auth.Close()
	for i, tok := range []string{"a", "b", "a"} {
		resp, b := callH(t, "DELETE", auth.URL+gone, "", map[string]string{WriteIDHeader: "dev/1", "Authorization": "Bearer " + tok})
		if again := resp.Header.Get(WriteStatusHeader) == "applied-before"; resp.StatusCode != 204 || again != (i == 2) {
			t.Errorf("client %s, write dev/1: %d %q %s", tok, resp.StatusCode, resp.Header.Get(WriteStatusHeader), b)
		}
	}

	// The device's LMS takes no write ids.
	devDB, dev := newTestServer(t, true)
	callH(t, "DELETE", dev.URL+gone, "", map[string]string{WriteIDHeader: "dev/1"})
	var n int
	devDB.db.QueryRow(`SELECT COUNT(*) FROM applied`).Scan(&n)
	if n != 0 {
		t.Errorf("the device's LMS recorded %d write ids", n)
	}
}

type verifierFunc func(tok string) (*bearer.Token, error)

func (f verifierFunc) Verify(_ context.Context, tok string, _ *peercred.Creds) (*bearer.Token, error) {
	return f(tok)
}
