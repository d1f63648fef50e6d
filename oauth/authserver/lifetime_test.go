package authserver_test

import (
	"database/sql"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/httpipc/httpipc/oauth/authclient"
	"github.com/httpipc/httpipc/oauth/authserver"
	"github.com/httpipc/httpipc/peercred"
)

// An authorization code is redeemable for one minute.
//
// fosite checks a code's expiry against the system clock (Options.Now does
// not reach it), comparing it with the expiry stored with the code. So this
// test reads that stored expiry, then moves the code's stored times back by
// the age it wants, which is what the clock running on would do.
func TestCodeLifetime(t *testing.T) {
	for _, tc := range []struct {
		name string
		age  time.Duration
		want string // the redemption's error code, "" for none
	}{
		{"fresh", 0, ""},
		{"50 seconds old", 50 * time.Second, ""},
		{"61 seconds old", 61 * time.Second, "invalid_grant"},
		{"an hour old", time.Hour, "invalid_grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLMS(t, authserver.AllowAll())
			login := l.config().Start("")
			redirect := l.authorize(t, login.URL)

			db, err := sql.Open("sqlite", "file:"+l.db+"?_pragma=busy_timeout(5000)")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var data string
			if err := db.QueryRowContext(t.Context(), `SELECT data FROM sessions WHERE kind = 'code'`).Scan(&data); err != nil {
				t.Fatal(err)
			}
			var stored map[string]any
			if err := json.Unmarshal([]byte(data), &stored); err != nil {
				t.Fatal(err)
			}
			sess, _ := stored["session"].(map[string]any)
			expiresAt, _ := sess["expires_at"].(map[string]any)
			requested, err1 := time.Parse(time.RFC3339Nano, str(stored["requested_at"]))
			expires, err2 := time.Parse(time.RFC3339Nano, str(expiresAt["authorize_code"]))
			if err := errors.Join(err1, err2); err != nil {
				t.Fatalf("stored code %s: %v", data, err)
			}
			if life := expires.Sub(requested); life < time.Minute || life > time.Minute+5*time.Second {
				t.Fatalf("the code lives %v (requested %v, expires %v), want one minute", life, requested, expires)
			}

			stored["requested_at"] = requested.Add(-tc.age)
			expiresAt["authorize_code"] = expires.Add(-tc.age)
			aged, _ := json.Marshal(stored)
			if _, err := db.ExecContext(t.Context(), `UPDATE sessions SET data = ? WHERE kind = 'code'`, string(aged)); err != nil {
				t.Fatal(err)
			}

			s, err := login.Finish(t.Context(), redirect)
			var re *oauth2.RetrieveError
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("a code %v old: %v", tc.age, err)
			case tc.want == "":
				if _, err := l.srv.Verify(t.Context(), s.Token().AccessToken, peercred.Self()); err != nil {
					t.Fatalf("the token of a code %v old: %v", tc.age, err)
				}
			case !errors.As(err, &re) || re.ErrorCode != tc.want:
				t.Fatalf("a code %v old: got %v, want %s", tc.age, err, tc.want)
			}
		})
	}
}

func str(v any) string { s, _ := v.(string); return s }

// A launch link's token can be fetched for LaunchTTL (five minutes) after
// the link was made, by the server's clock (Options.Now).
func TestLaunchLifetime(t *testing.T) {
	if authserver.LaunchTTL != 5*time.Minute {
		t.Fatalf("LaunchTTL is %v, want five minutes", authserver.LaunchTTL)
	}
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	advance := func(d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(d)
	}
	l := newLMSClock(t, authserver.AllowAll(), quiet(), clock)
	uid := peercred.Self().UID
	for _, tc := range []struct {
		name string
		wait time.Duration
		ok   bool
	}{
		{"at once", 0, true},
		{"after 4m59s", 4*time.Minute + 59*time.Second, true},
		{"after 5m01s", 5*time.Minute + time.Second, false},
		{"after a day", 24 * time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			link, err := l.srv.Launch(t.Context(), "math", issuer+"/api", "bob", []string{"roster.read"}, &uid)
			if err != nil {
				t.Fatal(err)
			}
			advance(tc.wait)
			s, _, err := l.config().Launch(t.Context(), link)
			var e *authclient.Error
			switch {
			case tc.ok && err != nil:
				t.Fatalf("fetch %v after the launch: %v", tc.wait, err)
			case tc.ok:
				if _, err := l.srv.Verify(t.Context(), s.Token().AccessToken, peercred.Self()); err != nil {
					t.Fatalf("the launch's token: %v", err)
				}
			case !errors.As(err, &e) || e.Code != "invalid_grant" || e.Description != "the launch has expired":
				t.Fatalf("fetch %v after the launch: got %v, want invalid_grant: the launch has expired", tc.wait, err)
			}
		})
	}
}
