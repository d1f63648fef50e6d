//go:build linux

package authserver_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/httpipc/httpipc/oauth"
	"github.com/httpipc/httpipc/oauth/authclient"
	"github.com/httpipc/httpipc/proxy"
)

// A desktop login through the web consent page, in headless Chromium: the
// browser reaches the authorization app through a localhost proxy, the user
// presses Allow (or Deny), and the loopback redirect finishes the login,
// whose code is redeemed over IPC.
func TestConsentInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("HTTPIPC_REQUIRE_CLIENTS") != "" {
			t.Fatal("chromium is not installed")
		}
		t.Skip("chromium is not installed")
	}
	l := newLMS(t, nil) // nil: the web consent page
	// The browser's way in: a localhost proxy to the authorization app.
	px := &proxy.Proxy{Service: "unix:" + l.sock, Logger: quiet()}
	ln, err := proxy.Listen("")
	if err != nil {
		t.Fatal(err)
	}
	go px.Serve(ln)
	defer px.Close()
	base := px.BaseURL(ln.Addr())

	alloc, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.Flag("headless", true), chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()))...)
	defer cancel()

	for _, tc := range []struct {
		button string
		want   string // error code, "" for success
	}{
		{"#allow", ""},
		{"#deny", "access_denied"},
	} {
		t.Run(tc.button, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			browser, closeBrowser := chromedp.NewContext(alloc)
			defer closeBrowser()
			cfg := l.config()
			cfg.OAuth2.RedirectURL = "http://127.0.0.1/callback"
			cfg.OAuth2.Endpoint.AuthURL = base + oauth.AuthorizePath
			var client, scope string
			open := func(authURL string) error {
				if err := chromedp.Do(browser, chromedp.Navigate(authURL), chromedp.WaitVisible(tc.button)); err != nil {
					return err
				}
				var err error
				if client, err = chromedp.Run(browser, chromedp.Text("#client")); err != nil {
					return err
				}
				if scope, err = chromedp.Run(browser, chromedp.Text("#scopes")); err != nil {
					return err
				}
				return chromedp.Do(browser, chromedp.Click(tc.button))
			}
			s, err := cfg.LoopbackLogin(ctx, open)
			if client != "Math Lesson" || scope != "roster.read" {
				t.Errorf("consent page showed %q asking for %q", client, scope)
			}
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if code, body := get(t, s.Client(ctx), issuer+"/api/me"); code != 200 || s.IPCService == "" {
					t.Fatalf("API after login: %d %s", code, body)
				}
				return
			}
			var e *authclient.Error
			if !errors.As(err, &e) || e.Code != tc.want {
				t.Fatalf("got %v, want %s", err, tc.want)
			}
		})
	}
}
