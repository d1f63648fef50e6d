package bhttp

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// hopByHop lists fields that describe one HTTP/1.1 connection and have no
// meaning inside a binary message; the encoder leaves them out.
var hopByHop = map[string]bool{
	"Connection":        true,
	"Keep-Alive":        true,
	"Proxy-Connection":  true,
	"Transfer-Encoding": true,
	"Upgrade":           true,
	"Te":                true,
	"Trailer":           true,
}

// commonNames maps lowercase field names to their canonical Go form, so the
// decoder does not allocate for the names most messages carry.
var commonNames = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{
		"Accept", "Accept-Encoding", "Accept-Language", "Accept-Ranges", "Authorization",
		"Cache-Control", "Content-Encoding", "Content-Language", "Content-Length",
		"Content-Location", "Content-Range", "Content-Type", "Cookie", "Date", "Etag",
		"Expires", "Forwarded", "Host", "If-Match", "If-Modified-Since", "If-None-Match",
		"If-Range", "If-Unmodified-Since", "Last-Modified", "Link", "Location", "Origin",
		"Range", "Referer", "Retry-After", "Server", "Set-Cookie", "User-Agent", "Vary",
		"Via", "Www-Authenticate", "X-Forwarded-For", "X-Request-Id",
	} {
		m[strings.ToLower(k)] = k
	}
	return m
}()

// tokenChar reports whether c may appear in a token (RFC 9110 Section 5.6.2).
func tokenChar(c byte) bool {
	return c < 0x80 && tokenTable[c]
}

var tokenTable = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// validName checks a field name as it appears on the wire: a non-empty token
// in lowercase.
func validName(b []byte) error {
	if len(b) == 0 {
		return errors.New("empty field name")
	}
	for _, c := range b {
		if !tokenChar(c) {
			if c == ':' {
				return errors.New("pseudo-header field " + quote(b) + " is not allowed in a field section")
			}
			return errors.New("field name " + quote(b) + " has an invalid character")
		}
		if 'A' <= c && c <= 'Z' {
			return errors.New("field name " + quote(b) + " is not lowercase")
		}
	}
	return nil
}

// validValue checks a field value (RFC 9110 Section 5.5): visible ASCII,
// space, HTAB and obs-text (0x80-0xFF), so no control character but HTAB.
func validValue[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func quote(b []byte) string {
	const max = 64
	s := string(b)
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strings.ReplaceAll(strings.ReplaceAll(`"`+s+`"`, "\r", `\r`), "\n", `\n`)
}

// canonicalName turns a lowercase wire name into Go's canonical header key.
func canonicalName(b []byte) string {
	if s, ok := commonNames[string(b)]; ok {
		return s
	}
	return http.CanonicalHeaderKey(string(b))
}

// compareWireNames orders header keys as their lowercase wire names, then
// (for keys that differ only in case) as the keys themselves.
func compareWireNames(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		ca, cb := lower(a[i]), lower(b[i])
		if ca != cb {
			return int(ca) - int(cb)
		}
	}
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// appendFieldLines appends the field lines of h, leaving out hop-by-hop
// fields when skipHop is set. Names are lowercase and sorted bytewise as
// lowercase, so the encoding is deterministic; the values of one name keep
// their order (docs/PROTOCOL.md, section 3).
//
// A contentLength of 0 or more adds a content-length line, in its sorted
// place, when h has none.
func appendFieldLines(b []byte, h http.Header, skipHop bool, contentLength int64) ([]byte, error) {
	_, hasCL := h["Content-Length"]
	addCL := contentLength >= 0 && !hasCL
	if len(h) == 0 && !addCL {
		return b, nil
	}
	var stack [16]string
	keys := stack[:0]
	for k := range h {
		keys = append(keys, k)
	}
	if addCL {
		keys = append(keys, "Content-Length")
	}
	if len(keys) > 1 {
		slices.SortFunc(keys, compareWireNames)
	}
	for _, k := range keys {
		if addCL && k == "Content-Length" {
			b = AppendVarint(b, 14)
			b = append(b, "content-length"...)
			var digits [20]byte
			d := strconv.AppendInt(digits[:0], contentLength, 10)
			b = AppendVarint(b, uint64(len(d)))
			b = append(b, d...)
			continue
		}
		if skipHop && hopByHop[k] {
			continue
		}
		if k == "" || len(k) > MaxVarint {
			return b, errors.New("bhttp: empty field name")
		}
		for i := 0; i < len(k); i++ {
			if !tokenChar(k[i]) {
				return b, errors.New("bhttp: field name " + quote([]byte(k)) + " has an invalid character")
			}
		}
		for _, v := range h[k] {
			if !validValue(v) {
				return b, errors.New("bhttp: value of field " + quote([]byte(k)) + " contains a control character")
			}
			b = AppendVarint(b, uint64(len(k)))
			for i := 0; i < len(k); i++ {
				b = append(b, lower(k[i]))
			}
			b = AppendVarint(b, uint64(len(v)))
			b = append(b, v...)
		}
	}
	return b, nil
}
