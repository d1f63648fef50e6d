package lms

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

func TestDocuments(t *testing.T) {
	db, ts := newTestServer(t, true)
	sam := url.QueryEscape(`{"mbox":"mailto:sam@school.example"}`)
	samUpper := url.QueryEscape(`{"objectType":"Agent","mbox":"mailto:SAM@school.example"}`)
	act := url.QueryEscape("https://math.example/lessons/fractions-1")
	reg := NewStatementID()
	state := StatePath + "?activityId=" + act + "&agent=" + sam
	aprof := AgentProfilePath + "?agent=" + sam
	xprof := ActivityProfilePath + "?activityId=" + act
	var etag string
	for _, tc := range []struct {
		name, method, path, body string
		h                        map[string]string
		status                   int
		contains                 string
	}{
		// State.
		{"state put", "PUT", state + "&stateId=bookmark", `{"page":3}`, nil, 204, ""},
		{"state get", "GET", state + "&stateId=bookmark", "", nil, 200, `{"page":3}`},
		{"state agent, other spelling", "GET", StatePath + "?activityId=" + act + "&agent=" + samUpper + "&stateId=bookmark", "", nil, 200, `"page":3`},
		{"state post merges", "POST", state + "&stateId=bookmark", `{"score":0.5}`, nil, 204, ""},
		{"state merged", "GET", state + "&stateId=bookmark", "", nil, 200, `{"page":3,"score":0.5}`},
		{"state post replaces a property", "POST", state + "&stateId=bookmark", `{"page":{"n":4}}`, nil, 204, ""},
		{"state merged again", "GET", state + "&stateId=bookmark", "", nil, 200, `{"page":{"n":4},"score":0.5}`},
		{"state post an array", "POST", state + "&stateId=bookmark", `[1]`, nil, 400, "JSON object"},
		{"state post not JSON type", "POST", state + "&stateId=bookmark", `{"a":1}`, map[string]string{"Content-Type": "text/plain"}, 400, "application/json"},
		{"state put text", "PUT", state + "&stateId=note", "hello", map[string]string{"Content-Type": "text/plain"}, 204, ""},
		{"state text kept", "GET", state + "&stateId=note", "", nil, 200, "hello"},
		{"state post onto text", "POST", state + "&stateId=note", `{"a":1}`, nil, 400, "not application/json"},
		{"state put bad JSON", "PUT", state + "&stateId=x", `{"a":`, nil, 400, "not JSON"},
		{"state post creates", "POST", state + "&stateId=new", `{"a":1}`, nil, 204, ""},
		{"state with registration", "PUT", state + "&registration=" + reg + "&stateId=bookmark", `{"r":1}`, nil, 204, ""},
		{"state registration apart", "GET", state + "&registration=" + reg + "&stateId=bookmark", "", nil, 200, `{"r":1}`},
		{"state list", "GET", state, "", nil, 200, `["bookmark","new","note"]`},
		{"state list of a registration", "GET", state + "&registration=" + reg, "", nil, 200, `["bookmark"]`},
		{"state list since the future", "GET", state + "&since=2999-01-01T00:00:00Z", "", nil, 200, `[]`},
		{"state list since the past", "GET", state + "&since=2000-01-01T00:00:00Z", "", nil, 200, `"note"`},
		{"state since with stateId", "GET", state + "&stateId=note&since=2000-01-01T00:00:00Z", "", nil, 400, "since"},
		{"state missing", "GET", state + "&stateId=nothing", "", nil, 404, ""},
		{"state without activityId", "GET", StatePath + "?agent=" + sam + "&stateId=a", "", nil, 400, "activityId"},
		{"state without agent", "GET", StatePath + "?activityId=" + act + "&stateId=a", "", nil, 400, "agent is required"},
		{"state agent not JSON", "GET", StatePath + "?activityId=" + act + "&agent=sam&stateId=a", "", nil, 400, "not JSON"},
		{"state agent two ids", "GET", StatePath + "?activityId=" + act + "&agent=" + url.QueryEscape(`{"mbox":"mailto:a@b.c","openid":"http://x.example/"}`) + "&stateId=a", "", nil, 400, "more than one"},
		{"state bad registration", "GET", state + "&registration=r1&stateId=a", "", nil, 400, "registration"},
		{"state bad activityId", "GET", StatePath + "?activityId=lesson&agent=" + sam + "&stateId=a", "", nil, 400, "IRI"},
		{"state unknown parameter", "GET", state + "&stateId=a&foo=1", "", nil, 400, "foo"},
		{"state put without stateId", "PUT", state, `{}`, nil, 400, "stateId"},
		{"state delete one", "DELETE", state + "&stateId=new", "", nil, 204, ""},
		{"state deleted", "GET", state + "&stateId=new", "", nil, 404, ""},
		{"state delete all of a registration", "DELETE", state + "&registration=" + reg, "", nil, 204, ""},
		{"state registration gone", "GET", state + "&registration=" + reg, "", nil, 200, `[]`},
		{"state others kept", "GET", state, "", nil, 200, `["bookmark","note"]`},
		{"state delete all", "DELETE", state, "", nil, 204, ""},
		{"state all gone", "GET", state, "", nil, 200, `[]`},
		// Agent profile.
		{"agent profile put new", "PUT", aprof + "&profileId=prefs", `{"lang":"en"}`, map[string]string{"If-None-Match": "*"}, 204, ""},
		{"agent profile put existing without headers", "PUT", aprof + "&profileId=prefs", `{"lang":"fr"}`, nil, 409, "If-Match"},
		{"agent profile put If-None-Match on existing", "PUT", aprof + "&profileId=prefs", `{"lang":"fr"}`, map[string]string{"If-None-Match": "*"}, 412, ""},
		{"agent profile put stale If-Match", "PUT", aprof + "&profileId=prefs", `{"lang":"fr"}`, map[string]string{"If-Match": `"0000000000000000000000000000000000000000"`}, 412, ""},
		{"agent profile get", "GET", aprof + "&profileId=prefs", "", nil, 200, `{"lang":"en"}`},
		{"agent profile put with ETag", "PUT", aprof + "&profileId=prefs", `{"lang":"fr"}`, map[string]string{"If-Match": "ETAG"}, 204, ""},
		{"agent profile put with old ETag", "PUT", aprof + "&profileId=prefs", `{"lang":"de"}`, map[string]string{"If-Match": "ETAG"}, 412, ""},
		{"agent profile post stale", "POST", aprof + "&profileId=prefs", `{"x":1}`, map[string]string{"If-Match": `"abc"`}, 412, ""},
		{"agent profile post merges", "POST", aprof + "&profileId=prefs", `{"x":1}`, nil, 204, ""},
		{"agent profile merged", "GET", aprof + "&profileId=prefs", "", nil, 200, `{"lang":"fr","x":1}`},
		{"agent profile put new without headers", "PUT", aprof + "&profileId=other", `{}`, nil, 204, ""},
		{"agent profile list", "GET", aprof, "", nil, 200, `["other","prefs"]`},
		{"agent profile delete stale", "DELETE", aprof + "&profileId=other", "", map[string]string{"If-Match": `"abc"`}, 412, ""},
		{"agent profile delete", "DELETE", aprof + "&profileId=other", "", nil, 204, ""},
		{"agent profile delete needs profileId", "DELETE", aprof, "", nil, 400, "profileId"},
		{"agent profile takes no activityId", "GET", aprof + "&activityId=" + act, "", nil, 400, "activityId"},
		// Activity profile.
		{"activity profile put", "PUT", xprof + "&profileId=p1", "<xml/>", map[string]string{"Content-Type": "application/xml", "If-None-Match": "*"}, 204, ""},
		{"activity profile get", "GET", xprof + "&profileId=p1", "", nil, 200, "<xml/>"},
		{"activity profile conflict", "PUT", xprof + "&profileId=p1", "<y/>", map[string]string{"Content-Type": "application/xml"}, 409, ""},
		{"activity profile If-Match *", "PUT", xprof + "&profileId=p1", "<y/>", map[string]string{"Content-Type": "application/xml", "If-Match": "*"}, 204, ""},
		{"activity profile post onto xml", "POST", xprof + "&profileId=p1", `{"a":1}`, nil, 400, "not application/json"},
		{"activity profile list", "GET", xprof, "", nil, 200, `["p1"]`},
		{"activity profile takes no agent", "GET", xprof + "&agent=" + sam, "", nil, 400, "agent"},
		{"activity profile If-Match * on missing", "PUT", xprof + "&profileId=p2", "{}", map[string]string{"If-Match": "*"}, 412, ""},
		{"activity profile method", "PATCH", xprof + "&profileId=p1", "", nil, 405, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.h
			if h["If-Match"] == "ETAG" {
				h = map[string]string{"If-Match": etag}
			}
			resp, body := callH(t, tc.method, ts.URL+tc.path, tc.body, h)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.contains) {
				t.Fatalf("got %d %s", resp.StatusCode, body)
			}
			if resp.StatusCode == 400 && strings.Count(strings.TrimSpace(body), "\n") > 0 {
				t.Errorf("reason is not one line: %q", body)
			}
			if resp.Header.Get("X-Experience-API-Version") != "1.0.3" {
				t.Errorf("no X-Experience-API-Version 1.0.3")
			}
			if tc.method == "GET" && resp.StatusCode == 200 && (strings.Contains(tc.path, "stateId=") || strings.Contains(tc.path, "profileId=")) {
				etag = resp.Header.Get("ETag")
				if len(etag) != 42 || etag[0] != '"' || etag != etagOf([]byte(body)) {
					t.Errorf("ETag %q is not the quoted SHA-1 of %q", etag, body)
				}
				if resp.Header.Get("Last-Modified") == "" {
					t.Errorf("no Last-Modified")
				}
				if strings.HasPrefix(body, "<") && resp.Header.Get("Content-Type") != "application/xml" {
					t.Errorf("content type not kept: %q", resp.Header.Get("Content-Type"))
				}
			}
		})
	}
	// Every document write is in the outbox, with a key the Syncer reads.
	rows, err := db.db.Query(`SELECT key FROM outbox WHERE kind = 'document'`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var key string
		rows.Scan(&key)
		var dk docKey
		if err := json.Unmarshal([]byte(key), &dk); err != nil || docKinds[dk.Kind].path == "" {
			t.Errorf("outbox key %q", key)
		}
		if _, _, _, _, err := db.docRequest(t.Context(), key); err != nil {
			t.Errorf("outbox key %q: %v", key, err)
		}
		n++
	}
	rows.Close()
	// 6 state writes, 3 deleted by one DELETE and 1 by another, the other
	// deletion; 4 agent profile writes; 2 activity profile writes.
	if n != 6+1+3+1+4+2 {
		t.Errorf("outbox holds %d document writes", n)
	}
}

func TestMergeJSON(t *testing.T) {
	for _, tc := range []struct {
		name, old, posted, want string
		ok                      bool
	}{
		{"spec example", `{"x":"foo","y":"bar"}`, `{"x":"bash","z":"faz"}`, `{"x":"bash","y":"bar","z":"faz"}`, true},
		{"no old", "", `{"a":1}`, `{"a":1}`, true},
		{"objects replaced, not merged", `{"a":{"b":1,"c":2}}`, `{"a":{"b":3}}`, `{"a":{"b":3}}`, true},
		{"posted array", `{}`, `[1]`, "", false},
		{"posted null", `{}`, `null`, "", false},
		{"posted string", `{}`, `"a"`, "", false},
		{"old array", `[1]`, `{"a":1}`, "", false},
		{"old null", `null`, `{"a":1}`, "", false},
		{"posted not JSON", `{}`, `{`, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var old []byte
			if tc.old != "" {
				old = []byte(tc.old)
			}
			got, err := mergeJSON(old, []byte(tc.posted))
			if (err == nil) != tc.ok || tc.ok && string(got) != tc.want {
				t.Fatalf("got %s, %v", got, err)
			}
		})
	}
}
