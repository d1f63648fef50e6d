package authclient

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2"

	"github.com/httpipc/httpipc/oauth"
)

// UseMetadata binds logins to the server the metadata describes.
func TestUseMetadata(t *testing.T) {
	c := &Config{OAuth2: oauth2.Config{Endpoint: oauth2.Endpoint{AuthURL: "http://127.0.0.1:1/s/oauth/authorize"}}}
	c.UseMetadata(&oauth.Metadata{Issuer: "https://lms.example", IPCService: "org.example.lms",
		AuthorizationEndpoint: "https://lms.example/oauth/authorize", TokenEndpoint: "https://lms.example/oauth/token"})
	if c.Issuer != "https://lms.example" || c.IPCService != "org.example.lms" ||
		c.OAuth2.Endpoint.AuthURL != "http://127.0.0.1:1/s/oauth/authorize" || c.OAuth2.Endpoint.TokenURL != "https://lms.example/oauth/token" {
		t.Fatalf("%+v", c)
	}
}

// With the binding configured, no metadata is read: a redirect naming
// another service or issuer fails before any request.
func TestRedirectBinding(t *testing.T) {
	c := &Config{
		OAuth2:     oauth2.Config{ClientID: "c", Endpoint: oauth2.Endpoint{AuthURL: "https://lms.example/oauth/authorize", TokenURL: "https://lms.example/oauth/token"}},
		IPCService: "org.example.lms",
		Issuer:     "https://lms.example",
		HTTPClient: &http.Client{Transport: noNetwork{}},
	}
	c.Directory.Getenv = func(string) string { return "/nonexistent" }
	l := c.Start("")
	l.state = "S"
	redirect := func(q url.Values) string {
		q.Set("state", "S")
		q.Set("code", "ory_ac_x.y")
		return "org.example.math:/cb?" + q.Encode()
	}
	for _, tc := range []struct {
		q    url.Values
		want error
	}{
		{url.Values{oauth.ParamIPCService: {"org.example.other"}}, ErrIPCService},
		{url.Values{oauth.ParamIPCService: {"org.example.lms"}, oauth.ParamIssuer: {"https://evil.example"}}, ErrIssuer},
		{url.Values{"error": {"access_denied"}, oauth.ParamIssuer: {"https://evil.example"}}, ErrIssuer},
		// The right service, not registered here: the directory refuses it.
		{url.Values{oauth.ParamIPCService: {"org.example.lms"}, oauth.ParamIssuer: {"https://lms.example"}}, ErrIPCService},
	} {
		if _, err := l.Finish(context.Background(), redirect(tc.q)); !errors.Is(err, tc.want) {
			t.Errorf("%v: got %v, want %v", tc.q, err, tc.want)
		}
	}
}
