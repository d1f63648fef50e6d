package lms

import (
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"time"
)

// This file holds the xAPI 1.0.3 data rules: what a statement, an agent
// and an IRI must look like, and when two statements are the same.

// bad returns a 400-class error with a one-line reason.
func bad(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errBadStatement, fmt.Sprintf(format, a...))
}

// isIRI reports whether s is an absolute IRI (a scheme, then something).
func isIRI(s string) bool {
	if s == "" || strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && len(s) > len(u.Scheme)+1
}

func isHex(s string) bool {
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// onlyKeys refuses properties of m that are not in allowed.
func onlyKeys(m map[string]any, where string, allowed ...string) error {
	for k := range m {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return bad("%s has the unknown property %q", where, k)
		}
	}
	return nil
}

// agentKey validates an Agent or Group and returns the key of its inverse
// functional identifier ("" for an anonymous Group).
func agentKey(v any, where string, group bool) (string, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return "", bad("%s must be an object", where)
	}
	ot, _ := m["objectType"].(string)
	switch {
	case m["objectType"] == nil || ot == "Agent":
		ot = "Agent"
	case ot == "Group" && group:
	default:
		return "", bad("%s has objectType %v, want Agent%s", where, m["objectType"], map[bool]string{true: " or Group"}[group])
	}
	allowed := []string{"objectType", "name", "mbox", "mbox_sha1sum", "openid", "account"}
	if ot == "Group" {
		allowed = append(allowed, "member")
	}
	if err := onlyKeys(m, where, allowed...); err != nil {
		return "", err
	}
	if n, ok := m["name"]; ok {
		if _, ok := n.(string); !ok {
			return "", bad("%s.name must be a string", where)
		}
	}
	var keys []string
	if v, ok := m["mbox"]; ok {
		s, _ := v.(string)
		if !validMbox(s) {
			return "", bad("%s.mbox must be a mailto: IRI of an email address", where)
		}
		keys = append(keys, "mbox|"+strings.ToLower(s))
	}
	if v, ok := m["mbox_sha1sum"]; ok {
		s, _ := v.(string)
		if len(s) != 40 || !isHex(s) {
			return "", bad("%s.mbox_sha1sum must be 40 hexadecimal digits", where)
		}
		keys = append(keys, "sha1|"+strings.ToLower(s))
	}
	if v, ok := m["openid"]; ok {
		s, _ := v.(string)
		if !isIRI(s) {
			return "", bad("%s.openid must be an IRI", where)
		}
		keys = append(keys, "openid|"+s)
	}
	if v, ok := m["account"]; ok {
		a, _ := v.(map[string]any)
		home, _ := a["homePage"].(string)
		name, _ := a["name"].(string)
		if a == nil || !isIRI(home) || name == "" {
			return "", bad("%s.account needs homePage (an IRL) and name", where)
		}
		if err := onlyKeys(a, where+".account", "homePage", "name"); err != nil {
			return "", err
		}
		keys = append(keys, "account|"+home+"|"+name)
	}
	if len(keys) > 1 {
		return "", bad("%s has more than one identifier (mbox, mbox_sha1sum, openid, account)", where)
	}
	if ot == "Group" {
		if mem, ok := m["member"]; ok {
			list, ok := mem.([]any)
			if !ok {
				return "", bad("%s.member must be an array of Agents", where)
			}
			for i, a := range list {
				if _, err := agentKey(a, fmt.Sprintf("%s.member[%d]", where, i), false); err != nil {
					return "", err
				}
			}
		}
		if len(keys) == 0 {
			if list, _ := m["member"].([]any); len(list) == 0 {
				return "", bad("%s is an anonymous Group without members", where)
			}
			return "", nil
		}
	}
	if len(keys) == 0 {
		return "", bad("%s needs one identifier (mbox, mbox_sha1sum, openid or account)", where)
	}
	return keys[0], nil
}

// parseAgentParam decodes the agent query parameter of the xAPI resources:
// an Agent, or an identified Group, as JSON. It returns the identifier key.
func parseAgentParam(s string) (string, error) {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return "", bad("agent is not JSON: %v", err)
	}
	key, err := agentKey(v, "agent", true)
	if err == nil && key == "" {
		err = bad("agent must be identified (an anonymous Group is not)")
	}
	return key, err
}

func checkActivity(m map[string]any, where string) error {
	if err := onlyKeys(m, where, "objectType", "id", "definition"); err != nil {
		return err
	}
	if id, _ := m["id"].(string); !isIRI(id) {
		return bad("%s.id must be an IRI", where)
	}
	if d, ok := m["definition"]; ok {
		return checkDefinition(d, where+".definition")
	}
	return nil
}

func checkTimestamp(v any, where string) error {
	s, _ := v.(string)
	if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
		return bad("%s must be an ISO 8601 timestamp", where)
	}
	// RFC 3339's unknown local offset is not an instant.
	if strings.HasSuffix(s, "-00:00") {
		return bad("%s has the offset -00:00, which names no time zone", where)
	}
	return nil
}

// validateStatement checks a statement (or, with sub, a SubStatement)
// against the xAPI 1.0.3 data model.
func validateStatement(s map[string]any, sub bool) error {
	where := "statement"
	if !sub {
		if err := checkNulls(s, "statement"); err != nil {
			return err
		}
	}
	if sub {
		where = "object (SubStatement)"
		if err := onlyKeys(s, where, "objectType", "actor", "verb", "object", "result", "context", "timestamp", "attachments"); err != nil {
			return err
		}
	} else if err := onlyKeys(s, where, "id", "actor", "verb", "object", "result", "context", "timestamp", "stored", "authority", "version", "attachments"); err != nil {
		return err
	}
	if s["actor"] == nil || s["verb"] == nil || s["object"] == nil {
		return bad("a statement needs actor, verb and object")
	}
	if id, ok := s["id"]; ok {
		if str, _ := id.(string); !validUUID(str) {
			return bad("id %v is not a UUID", id)
		}
	}
	if _, err := agentKey(s["actor"], "actor", true); err != nil {
		return err
	}
	verb, _ := s["verb"].(map[string]any)
	if verb == nil {
		return bad("verb must be an object")
	}
	if err := onlyKeys(verb, "verb", "id", "display"); err != nil {
		return err
	}
	verbID, _ := verb["id"].(string)
	if !isIRI(verbID) {
		return bad("verb.id must be an IRI")
	}
	if d, ok := verb["display"]; ok {
		if err := checkLangMap(d, "verb.display"); err != nil {
			return err
		}
	}
	obj, _ := s["object"].(map[string]any)
	if obj == nil {
		return bad("object must be an object")
	}
	ot, _ := obj["objectType"].(string)
	switch {
	case obj["objectType"] == nil || ot == "Activity":
		if err := checkActivity(obj, "object"); err != nil {
			return err
		}
	case ot == "Agent" || ot == "Group":
		if _, err := agentKey(obj, "object", true); err != nil {
			return err
		}
	case ot == "StatementRef":
		if err := onlyKeys(obj, "object", "objectType", "id"); err != nil {
			return err
		}
		if id, _ := obj["id"].(string); !validUUID(id) {
			return bad("object.id of a StatementRef must be a UUID")
		}
	case ot == "SubStatement" && !sub:
		if err := validateStatement(obj, true); err != nil {
			return err
		}
	default:
		return bad("object has objectType %v, want Activity, Agent, Group, StatementRef or SubStatement (not nested)", obj["objectType"])
	}
	if verbID == VerbVoided && ot != "StatementRef" {
		return bad("a voiding statement's object must be a StatementRef")
	}
	if r, ok := s["result"]; ok {
		if err := checkResult(r); err != nil {
			return err
		}
	}
	if c, ok := s["context"]; ok {
		if err := checkContext(c, ot); err != nil {
			return err
		}
	}
	if t, ok := s["timestamp"]; ok {
		if err := checkTimestamp(t, "timestamp"); err != nil {
			return err
		}
	}
	if t, ok := s["stored"]; ok {
		if err := checkTimestamp(t, "stored"); err != nil {
			return err
		}
	}
	if a, ok := s["authority"]; ok {
		if err := checkAuthority(a); err != nil {
			return err
		}
	}
	if v, ok := s["version"]; ok {
		if str, _ := v.(string); !supportedVersion(str) {
			return bad("version %v is not 1.0.x", v)
		}
	}
	if a, ok := s["attachments"]; ok {
		list, ok := a.([]any)
		if !ok {
			return bad("attachments must be an array")
		}
		for i, x := range list {
			if err := checkAttachment(x, fmt.Sprintf("attachments[%d]", i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkLangMap(v any, where string) error {
	m, ok := v.(map[string]any)
	if !ok {
		return bad("%s must be a language map", where)
	}
	for k, x := range m {
		if _, ok := x.(string); !ok {
			return bad("%s must map language tags to strings", where)
		}
		if !validLangTag(k) {
			return bad("%s has the key %q, which is not an RFC 5646 language tag", where, k)
		}
	}
	return nil
}

func checkResult(v any) error {
	r, ok := v.(map[string]any)
	if !ok {
		return bad("result must be an object")
	}
	if err := onlyKeys(r, "result", "score", "success", "completion", "response", "duration", "extensions"); err != nil {
		return err
	}
	for _, k := range []string{"success", "completion"} {
		if x, ok := r[k]; ok {
			if _, ok := x.(bool); !ok {
				return bad("result.%s must be true or false", k)
			}
		}
	}
	if x, ok := r["response"]; ok {
		if _, ok := x.(string); !ok {
			return bad("result.response must be a string")
		}
	}
	if x, ok := r["duration"]; ok {
		if d, _ := x.(string); !validDuration(d) {
			return bad("result.duration must be an ISO 8601 duration")
		}
	}
	if x, ok := r["extensions"]; ok {
		if err := checkExtensions(x, "result.extensions"); err != nil {
			return err
		}
	}
	if sc, ok := r["score"]; ok {
		m, ok := sc.(map[string]any)
		if !ok {
			return bad("result.score must be an object")
		}
		if err := onlyKeys(m, "result.score", "scaled", "raw", "min", "max"); err != nil {
			return err
		}
		for k, x := range m {
			if _, ok := x.(float64); !ok {
				return bad("result.score.%s must be a number", k)
			}
		}
		if x, ok := m["scaled"].(float64); ok && (x < -1 || x > 1 || math.IsNaN(x)) {
			return bad("result.score.scaled must be between -1 and 1")
		}
		lo, hasMin := m["min"].(float64)
		hi, hasMax := m["max"].(float64)
		if hasMin && hasMax && lo >= hi {
			return bad("result.score.min must be less than max")
		}
		if raw, ok := m["raw"].(float64); ok && (hasMin && raw < lo || hasMax && raw > hi) {
			return bad("result.score.raw must be between min and max")
		}
	}
	return nil
}

func checkContext(v any, objectType string) error {
	c, ok := v.(map[string]any)
	if !ok {
		return bad("context must be an object")
	}
	if err := onlyKeys(c, "context", "registration", "instructor", "team", "contextActivities", "revision", "platform", "language", "statement", "extensions"); err != nil {
		return err
	}
	if r, ok := c["registration"]; ok {
		if s, _ := r.(string); !validUUID(s) {
			return bad("context.registration must be a UUID")
		}
	}
	for _, k := range []string{"revision", "platform"} {
		if x, ok := c[k]; ok {
			if _, ok := x.(string); !ok {
				return bad("context.%s must be a string", k)
			}
		}
	}
	if x, ok := c["language"]; ok {
		if l, _ := x.(string); !validLangTag(l) {
			return bad("context.language must be an RFC 5646 language tag")
		}
	}
	if x, ok := c["extensions"]; ok {
		if err := checkExtensions(x, "context.extensions"); err != nil {
			return err
		}
	}
	if i, ok := c["instructor"]; ok {
		if _, err := agentKey(i, "context.instructor", true); err != nil {
			return err
		}
	}
	if t, ok := c["team"]; ok {
		if m, _ := t.(map[string]any); m == nil || m["objectType"] != "Group" {
			return bad("context.team must be a Group")
		}
		if _, err := agentKey(t, "context.team", true); err != nil {
			return err
		}
	}
	if objectType != "" && objectType != "Activity" {
		if _, ok := c["revision"]; ok {
			return bad("context.revision is only for statements about an Activity")
		}
		if _, ok := c["platform"]; ok {
			return bad("context.platform is only for statements about an Activity")
		}
	}
	if ca, ok := c["contextActivities"]; ok {
		m, ok := ca.(map[string]any)
		if !ok {
			return bad("context.contextActivities must be an object")
		}
		for k, x := range m {
			where := "context.contextActivities." + k
			if k != "parent" && k != "grouping" && k != "category" && k != "other" {
				return bad("context.contextActivities has the unknown property %q", k)
			}
			list, ok := x.([]any)
			if !ok {
				list = []any{x}
			}
			for _, a := range list {
				am, _ := a.(map[string]any)
				if am == nil || (am["objectType"] != nil && am["objectType"] != "Activity") {
					return bad("%s must hold Activities", where)
				}
				if err := checkActivity(am, where); err != nil {
					return err
				}
			}
		}
	}
	if st, ok := c["statement"]; ok {
		m, _ := st.(map[string]any)
		if id, _ := m["id"].(string); m == nil || m["objectType"] != "StatementRef" || !validUUID(id) {
			return bad("context.statement must be a StatementRef")
		}
	}
	return nil
}

// supportedVersion reports whether v is an xAPI 1.0.x version.
func supportedVersion(v string) bool {
	if v == "1.0" {
		return true
	}
	rest, ok := strings.CutPrefix(v, "1.0.")
	if !ok || rest == "" {
		return false
	}
	for _, c := range rest {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// comparable returns a statement in the form statements are compared in
// (the spec's "Statement Comparison Requirements"): without what the LRS
// may assign (id, authority, stored, version; timestamp is compared as an
// instant when both have one), without activity definitions and verb
// displays, with case-insensitive values (UUIDs, mbox) in lower case and
// Group members in any order.
func comparable(s map[string]any) map[string]any {
	c := normalize(s, "").(map[string]any)
	for _, k := range []string{"id", "authority", "stored", "version", "timestamp"} {
		delete(c, k)
	}
	return c
}

func normalize(v any, key string) any {
	switch x := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(x))
		for k, e := range x {
			switch k {
			case "definition":
				continue
			case "display":
				if key == "verb" {
					continue
				}
			}
			c[k] = normalize(e, k)
		}
		if x["objectType"] == "StatementRef" || key == "statement" {
			if id, ok := c["id"].(string); ok {
				c["id"] = strings.ToLower(id)
			}
		}
		if m, ok := c["member"].([]any); ok {
			sort.Slice(m, func(i, j int) bool {
				a, _ := json.Marshal(m[i])
				b, _ := json.Marshal(m[j])
				return string(a) < string(b)
			})
		}
		return c
	case []any:
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = normalize(e, key)
		}
		return c
	case string:
		switch key {
		case "mbox", "registration", "mbox_sha1sum":
			return strings.ToLower(x)
		}
		return x
	default:
		return x
	}
}

// sameStatement reports whether a stored statement (its JSON) and s are
// the same statement under the comparison rules.
func sameStatement(old string, s map[string]any) bool {
	var o map[string]any
	if json.Unmarshal([]byte(old), &o) != nil {
		return false
	}
	if ta, ok := o["timestamp"].(string); ok {
		if tb, ok := s["timestamp"].(string); ok {
			a, errA := time.Parse(time.RFC3339Nano, ta)
			b, errB := time.Parse(time.RFC3339Nano, tb)
			if errA != nil || errB != nil || !a.Equal(b) {
				return false
			}
		}
	}
	return reflect.DeepEqual(comparable(o), comparable(s))
}

// checkNulls refuses a null value anywhere in v except inside extensions,
// where any JSON value is the extension's own business.
func checkNulls(v any, where string) error {
	switch x := v.(type) {
	case nil:
		return bad("%s is null", where)
	case map[string]any:
		for k, e := range x {
			if k == "extensions" {
				continue
			}
			if err := checkNulls(e, where+"."+k); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range x {
			if err := checkNulls(e, fmt.Sprintf("%s[%d]", where, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// validMbox reports whether s is "mailto:" and an email address.
func validMbox(s string) bool {
	addr, ok := strings.CutPrefix(s, "mailto:")
	local, domain, found := strings.Cut(addr, "@")
	return ok && found && local != "" && domain != "" && !strings.ContainsAny(addr, " \t\r\n<>") &&
		!strings.Contains(domain, "@")
}

// The interaction types of an activity definition, exactly as spelled.
var interactionTypes = map[string]bool{"true-false": true, "choice": true, "fill-in": true, "long-fill-in": true,
	"matching": true, "performance": true, "sequencing": true, "likert": true, "numeric": true, "other": true}

// interactionLists are the lists of interaction components.
var interactionLists = []string{"choices", "scale", "source", "target", "steps"}

// checkDefinition checks an activity definition.
func checkDefinition(v any, where string) error {
	d, ok := v.(map[string]any)
	if !ok {
		return bad("%s must be an object", where)
	}
	if err := onlyKeys(d, where, "name", "description", "type", "moreInfo", "interactionType",
		"correctResponsesPattern", "choices", "scale", "source", "target", "steps", "extensions"); err != nil {
		return err
	}
	for _, k := range []string{"name", "description"} {
		if x, ok := d[k]; ok {
			if err := checkLangMap(x, where+"."+k); err != nil {
				return err
			}
		}
	}
	for _, k := range []string{"type", "moreInfo"} {
		if x, ok := d[k]; ok {
			if s, _ := x.(string); !isIRI(s) {
				return bad("%s.%s must be an IRI", where, k)
			}
		}
	}
	it, hasType := d["interactionType"]
	if hasType {
		if s, _ := it.(string); !interactionTypes[s] {
			return bad("%s.interactionType must be one of true-false, choice, fill-in, long-fill-in, matching, performance, sequencing, likert, numeric, other", where)
		}
	}
	if x, ok := d["correctResponsesPattern"]; ok {
		if !hasType {
			return bad("%s has correctResponsesPattern without interactionType", where)
		}
		list, ok := x.([]any)
		if !ok {
			return bad("%s.correctResponsesPattern must be an array of strings", where)
		}
		for _, e := range list {
			if _, ok := e.(string); !ok {
				return bad("%s.correctResponsesPattern must be an array of strings", where)
			}
		}
	}
	for _, k := range interactionLists {
		x, ok := d[k]
		if !ok {
			continue
		}
		if !hasType {
			return bad("%s has %s without interactionType", where, k)
		}
		list, ok := x.([]any)
		if !ok {
			return bad("%s.%s must be an array of interaction components", where, k)
		}
		seen := map[string]bool{}
		for i, e := range list {
			at := fmt.Sprintf("%s.%s[%d]", where, k, i)
			c, _ := e.(map[string]any)
			if c == nil {
				return bad("%s must be an object", at)
			}
			if err := onlyKeys(c, at, "id", "description"); err != nil {
				return err
			}
			id, _ := c["id"].(string)
			if id == "" || seen[id] {
				return bad("%s needs an id, unique in its list", at)
			}
			seen[id] = true
			if x, ok := c["description"]; ok {
				if err := checkLangMap(x, at+".description"); err != nil {
					return err
				}
			}
		}
	}
	if x, ok := d["extensions"]; ok {
		return checkExtensions(x, where+".extensions")
	}
	return nil
}

// checkExtensions: an object whose keys are IRIs.
func checkExtensions(v any, where string) error {
	m, ok := v.(map[string]any)
	if !ok {
		return bad("%s must be an object", where)
	}
	for k := range m {
		if !isIRI(k) {
			return bad("%s has the key %q, which is not an IRI", where, k)
		}
	}
	return nil
}

// checkAuthority: an Agent, or (OAuth) an anonymous Group of exactly two
// Agents.
func checkAuthority(v any) error {
	key, err := agentKey(v, "authority", true)
	if err != nil {
		return err
	}
	m, _ := v.(map[string]any)
	if m["objectType"] != "Group" {
		return nil
	}
	if key != "" {
		return bad("an authority that is a Group must be anonymous")
	}
	if list, _ := m["member"].([]any); len(list) != 2 {
		return bad("an authority that is a Group must have exactly two members")
	}
	return nil
}

// checkAttachment checks one entry of a statement's attachments.
func checkAttachment(v any, where string) error {
	m, _ := v.(map[string]any)
	if m == nil {
		return bad("%s must be an object", where)
	}
	if err := onlyKeys(m, where, "usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"); err != nil {
		return err
	}
	if s, _ := m["usageType"].(string); !isIRI(s) {
		return bad("%s.usageType must be an IRI", where)
	}
	d, ok := m["display"]
	if !ok {
		return bad("%s needs display", where)
	}
	if err := checkLangMap(d, where+".display"); err != nil {
		return err
	}
	if x, ok := m["description"]; ok {
		if err := checkLangMap(x, where+".description"); err != nil {
			return err
		}
	}
	ct, _ := m["contentType"].(string)
	if _, _, err := mime.ParseMediaType(ct); err != nil {
		return bad("%s.contentType must be a media type", where)
	}
	if n, ok := m["length"].(float64); !ok || n < 0 || n != math.Trunc(n) || n > 1<<53 {
		return bad("%s.length must be a non-negative integer", where)
	}
	if s, _ := m["sha2"].(string); s == "" || !isHex(s) {
		return bad("%s.sha2 must be a SHA-2 hash in hexadecimal", where)
	}
	if x, ok := m["fileUrl"]; ok {
		if s, _ := x.(string); !isIRI(s) {
			return bad("%s.fileUrl must be an IRL", where)
		}
	}
	return nil
}

// validDuration reports whether s is an ISO 8601 duration in the format
// of ISO 8601:2004 4.4.3.2: PnYnMnDTnHnMnS (any part may be left out, at
// least one given, T only before time parts) or PnW. A fraction is
// allowed on the last part.
func validDuration(s string) bool {
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" {
		return false
	}
	if n, ok := strings.CutSuffix(rest, "W"); ok {
		return isDecimal(n)
	}
	date, tm, hasT := strings.Cut(rest, "T")
	if hasT && tm == "" {
		return false
	}
	parts := 0
	last := false
	eat := func(s, units string) bool {
		for s != "" {
			if last {
				return false // a fraction was not on the last part
			}
			i := strings.IndexAny(s, units)
			if i <= 0 || !isDecimal(s[:i]) {
				return false
			}
			last = strings.ContainsAny(s[:i], ".,")
			u := strings.IndexByte(units, s[i])
			units = units[u+1:] // in order, each once
			s = s[i+1:]
			parts++
		}
		return true
	}
	return eat(date, "YMD") && eat(tm, "HMS") && parts > 0
}

// isDecimal: digits, with at most one decimal point or comma not at the
// ends.
func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	sep := false
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
		case (c == '.' || c == ',') && !sep && i > 0 && i < len(s)-1:
			sep = true
		default:
			return false
		}
	}
	return true
}

// grandfathered are the irregular and regular tags of RFC 5646 that do
// not follow its syntax.
var grandfathered = map[string]bool{"en-gb-oed": true, "i-ami": true, "i-bnn": true, "i-default": true,
	"i-enochian": true, "i-hak": true, "i-klingon": true, "i-lux": true, "i-mingo": true, "i-navajo": true,
	"i-pwn": true, "i-tao": true, "i-tay": true, "i-tsu": true, "sgn-be-fr": true, "sgn-be-nl": true,
	"sgn-ch-de": true, "art-lojban": true, "cel-gaulish": true, "no-bok": true, "no-nyn": true,
	"zh-guoyu": true, "zh-hakka": true, "zh-min": true, "zh-min-nan": true, "zh-xiang": true}

// validLangTag reports whether t is a well-formed RFC 5646 language tag
// (its syntax, with no repeated variant or extension singleton; the
// subtags are not looked up in the registry).
func validLangTag(t string) bool {
	t = strings.ToLower(t)
	if grandfathered[t] {
		return true
	}
	parts := strings.Split(t, "-")
	for _, p := range parts {
		if p == "" || len(p) > 8 || !alnum(p) {
			return false
		}
	}
	privateUse := func(rest []string) bool { return len(rest) > 0 }
	if parts[0] == "x" {
		return privateUse(parts[1:])
	}
	i := 0
	switch l := parts[0]; {
	case !alpha(l) || len(l) < 2:
		return false
	case len(l) <= 3:
		i = 1
		for n := 0; n < 3 && i < len(parts) && len(parts[i]) == 3 && alpha(parts[i]); n++ {
			i++ // extlang
		}
	default:
		i = 1 // 4 (reserved) or 5 to 8 letters
	}
	if i < len(parts) && len(parts[i]) == 4 && alpha(parts[i]) {
		i++ // script
	}
	if i < len(parts) && (len(parts[i]) == 2 && alpha(parts[i]) || len(parts[i]) == 3 && digits(parts[i])) {
		i++ // region
	}
	variants := map[string]bool{}
	for i < len(parts) && (len(parts[i]) >= 5 || len(parts[i]) == 4 && parts[i][0] >= '0' && parts[i][0] <= '9') {
		if variants[parts[i]] {
			return false
		}
		variants[parts[i]] = true
		i++
	}
	singletons := map[string]bool{}
	for i < len(parts) && len(parts[i]) == 1 && parts[i] != "x" {
		if singletons[parts[i]] {
			return false
		}
		singletons[parts[i]] = true
		i++
		n := 0
		for ; i < len(parts) && len(parts[i]) >= 2; i++ {
			n++
		}
		if n == 0 {
			return false
		}
	}
	if i < len(parts) && parts[i] == "x" {
		return privateUse(parts[i+1:])
	}
	return i == len(parts)
}

func alpha(s string) bool {
	for _, c := range s {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func alnum(s string) bool {
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
