package proxy

import (
	"net/url"
	"strings"
)

// redacted stands in for a credential in log lines.
const redacted = "REDACTED"

// sensitiveParams are query parameters whose values are credentials: OAuth
// codes, tokens and verifiers.
var sensitiveParams = []string{"code", "access_token", "refresh_token", "id_token", "token", "code_verifier", "client_secret", "password"}

// logURL is u as a log line may show it: a launch token, a secret that may
// still be the first path segment (secret not "") and the values of
// sensitive query parameters are replaced by REDACTED.
func (p *Proxy) logURL(u *url.URL, secret string) string {
	path := u.EscapedPath()
	switch {
	case strings.HasPrefix(path, LaunchPrefix):
		path = LaunchPrefix + redacted
	case secret != "" || p.Secret != "":
		rest, ok := strings.CutPrefix(path, "/")
		if !ok {
			break
		}
		seg, tail, slash := strings.Cut(rest, "/")
		if secret != "" || seg == p.Secret || seg == p.auto {
			path = "/" + redacted
			if slash {
				path += "/" + tail
			}
		}
	}
	if u.RawQuery == "" {
		return path
	}
	return path + "?" + redactQuery(u.RawQuery)
}

// redactQuery replaces the values of sensitive parameters in a raw query,
// keeping the rest as sent.
func redactQuery(raw string) string {
	parts := strings.Split(raw, "&")
	for i, part := range parts {
		k, _, hasValue := strings.Cut(part, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if hasValue && isSensitive(name) {
			parts[i] = k + "=" + redacted
		}
	}
	return strings.Join(parts, "&")
}

func isSensitive(name string) bool {
	for _, s := range sensitiveParams {
		if strings.EqualFold(name, s) {
			return true
		}
	}
	return false
}

// redactText removes the proxy's secrets and the sensitive query values of
// u from s, an error message about a request for u.
func (p *Proxy) redactText(s string, u *url.URL) string {
	for _, secret := range []string{p.Secret, p.auto} {
		if len(secret) >= 8 {
			s = strings.ReplaceAll(s, secret, redacted)
		}
	}
	for name, values := range u.Query() {
		if isSensitive(name) {
			for _, v := range values {
				if len(v) >= 4 {
					s = strings.ReplaceAll(s, v, redacted)
				}
			}
		}
	}
	return s
}
