package authserver_test

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/httpipc/httpipc/internal/syncbuf"
	"github.com/httpipc/httpipc/oauth"
	"github.com/httpipc/httpipc/oauth/authserver"
)

// Each refused request is one log line, as the text handler of httpipc
// auth serve writes it, with the refusal's RFC 6749 code and description:
// no stack trace, no debug text, no second line.
func TestRefusalsLogOneLineEach(t *testing.T) {
	var logs syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	failing := func(context.Context, authserver.ConsentRequest) (bool, error) {
		return false, errors.New("the terminal\nis gone")
	}
	l := newLMSLogging(t, authserver.AllowAll(), log)
	code, verifier := freshCode(t, l)
	refusals := []func(){
		// A replayed code (the first use succeeds and is not logged).
		func() {
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}, "client_id": {"math"}, "redirect_uri": {mobileRedir}}
			if status, body := tokenRequest(t, l, form); status != 200 {
				t.Fatalf("redeem: %d %v", status, body)
			}
			tokenRequest(t, l, form)
		},
		// A wrong verifier.
		func() {
			c, _ := freshCode(t, l)
			tokenRequest(t, l, url.Values{"grant_type": {"authorization_code"}, "code": {c}, "code_verifier": {oauth2.GenerateVerifier()}, "client_id": {"math"}, "redirect_uri": {mobileRedir}})
		},
		// An unknown grant type, with a line break in it.
		func() {
			tokenRequest(t, l, url.Values{"grant_type": {"password\nlevel=ERROR msg=forged"}, "client_id": {"math"}})
		},
		// A refresh token that is not one.
		func() {
			tokenRequest(t, l, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"ory_rt_x.y"}, "client_id": {"math"}})
		},
		// An authorization request without PKCE, and one of an unknown
		// client.
		func() {
			q := url.Values{"response_type": {"code"}, "client_id": {"math"}, "redirect_uri": {mobileRedir}, "state": {"0123456789"}, "scope": {"roster.read"}}
			resp, err := l.ipc().Get(issuer + oauth.AuthorizePath + "?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		},
		func() {
			q := url.Values{"response_type": {"code"}, "client_id": {"nobody"}, "redirect_uri": {mobileRedir}, "state": {"0123456789"}}
			resp, err := l.ipc().Get(issuer + oauth.AuthorizePath + "?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		},
		// A revocation without a client.
		func() {
			resp, err := l.ipc().PostForm(issuer+oauth.RevokePath, url.Values{"token": {"x"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		},
	}
	for i, refuse := range refusals {
		before := logs.String()
		refuse()
		added := strings.TrimSuffix(strings.TrimPrefix(logs.String(), before), "\n")
		var refused []string
		for _, line := range strings.Split(added, "\n") {
			if strings.Contains(line, "refused") {
				refused = append(refused, line)
			}
		}
		if len(refused) != 1 {
			t.Errorf("refusal %d logged %d refusal lines:\n%s", i, len(refused), added)
			continue
		}
		line := refused[0]
		if !strings.Contains(line, " error=") || strings.Contains(line, " error=error") || !strings.Contains(line, " description=") || strings.Contains(line, `description=""`) {
			t.Errorf("refusal %d: no RFC 6749 code and description: %s", i, line)
		}
	}
	// The consent cannot be asked: one line, with the cause.
	l2 := newLMSLogging(t, failing, log)
	before := logs.String()
	login := l2.config().Start("")
	resp, err := l2.ipc().Get(login.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if added := strings.TrimPrefix(logs.String(), before); strings.Count(added, "\n") != 1 || !strings.Contains(added, "the consent could not be asked") || !strings.Contains(added, "the terminal is gone") {
		t.Errorf("consent failure logged:\n%s", added)
	}

	out := logs.String()
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !strings.HasPrefix(line, "time=") {
			t.Errorf("a log line is the continuation of another: %q", line)
		}
		for _, frame := range []string{"github.com/ory/fosite", ".go:", "goroutine "} {
			if strings.Contains(line, frame) {
				t.Errorf("a log line carries a stack trace: %s", line)
			}
		}
	}
	if !strings.Contains(out, "error=unsupported_grant_type") || !strings.Contains(out, "error=invalid_grant") || !strings.Contains(out, "error=invalid_client") {
		t.Errorf("codes missing:\n%s", out)
	}
	if t.Failed() {
		t.Logf("log:\n%s", out)
	}
}
