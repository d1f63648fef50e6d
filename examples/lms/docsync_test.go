package lms

import (
	"io"
	"log/slog"
	"net/url"
	"testing"
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
