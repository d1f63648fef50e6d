// Package oauth holds what both sides of httpipc's offline OAuth flow agree
// on: the ipc-service parameter of the authorization response, the
// authorization-server metadata that advertises it, and the launch-link
// parameters (docs/OAUTH.md).
//
// The flow is OAuth 2.0 for native apps (RFC 8252) with PKCE (RFC 7636):
// package authserver is the authorization app's side, built on ory/fosite;
// package authclient the client app's, built on golang.org/x/oauth2;
// package bearer checks access tokens in a provider's handlers.
package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// ParamIPCService is the parameter of the authorization response (next to
// code and state) that names, as an ipc-service address (docs/PROTOCOL.md,
// section 2), where the client sends its token request and API calls while
// offline. A response without it means: use the network.
const ParamIPCService = "ipc-service"

// ParamIssuer is the RFC 9207 parameter of the authorization response that
// names the issuer that answered, so that a client talking to several
// authorization servers can tell which one a redirect comes from.
const ParamIssuer = "iss"

// Paths of the authorization server's endpoints, relative to its issuer.
const (
	MetadataPath   = "/.well-known/oauth-authorization-server" // RFC 8414
	AuthorizePath  = "/oauth/authorize"
	TokenPath      = "/oauth/token"
	RevokePath     = "/oauth/revoke"     // RFC 7009
	LaunchPath     = "/oauth/launch/"    // + id: a launch link's one-time token fetch
	IntrospectPath = "/oauth/introspect" // RFC 7662
)

// Launch-link parameters (cmi5 style): a provider opens a client app with a
// link that carries them, and the client fetches its token once.
const (
	LaunchParamEndpoint = "endpoint" // the API's base URL
	LaunchParamFetch    = "fetch"    // the one-time token fetch URL (POST)
	LaunchParamIPC      = ParamIPCService
)

// Metadata is the RFC 8414 authorization-server metadata, with the
// ipc_service extension: the address of the authorization app over IPC.
type Metadata struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	RevocationEndpoint                string   `json:"revocation_endpoint,omitempty"`
	IntrospectionEndpoint             string   `json:"introspection_endpoint,omitempty"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	ScopesSupported                   []string `json:"scopes_supported,omitempty"`
	// AuthorizationResponseIssParameterSupported says that the server's
	// authorization responses carry iss (RFC 9207).
	AuthorizationResponseIssParameterSupported bool `json:"authorization_response_iss_parameter_supported,omitempty"`
	// IPCService is where the token endpoint (and, when the authorization
	// app is the provider, the API) answers over IPC.
	IPCService string `json:"ipc_service,omitempty"`
}

// FetchMetadata reads the metadata of the server at issuer through c, and
// checks that it names that issuer. With issuer empty it asks
// http://localhost, which over IPC reaches whatever serves c's address, and
// takes the issuer the server names.
func FetchMetadata(ctx context.Context, c *http.Client, issuer string) (*Metadata, error) {
	base := issuer
	if base == "" {
		base = "http://localhost"
	}
	m, err := MetadataAt(ctx, c, base)
	if err != nil {
		return nil, err
	}
	if issuer != "" && m.Issuer != issuer {
		return nil, fmt.Errorf("oauth: metadata names issuer %q, want %q", m.Issuer, issuer)
	}
	return m, nil
}

// MetadataAt reads the metadata served at base (base + MetadataPath)
// through c, whatever issuer it names: base may be a proxy's URL for the
// server (the authorization endpoint without AuthorizePath).
func MetadataAt(ctx context.Context, c *http.Client, base string) (*Metadata, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", base+MetadataPath, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("oauth: metadata: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("oauth: metadata: %s", resp.Status)
	}
	var m Metadata
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&m); err != nil {
		return nil, fmt.Errorf("oauth: metadata: %w", err)
	}
	if m.TokenEndpoint == "" || m.AuthorizationEndpoint == "" {
		return nil, errors.New("oauth: metadata names no authorization or token endpoint")
	}
	return &m, nil
}
