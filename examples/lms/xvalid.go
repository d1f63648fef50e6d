package lms

import (
	"encoding/json"
	"fmt"
	"math"
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
		if !strings.HasPrefix(s, "mailto:") || len(s) == len("mailto:") {
			return "", bad("%s.mbox must be a mailto: IRI", where)
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
		if _, ok := d.(map[string]any); !ok {
			return bad("%s.definition must be an object", where)
		}
	}
	return nil
}

func checkTimestamp(v any, where string) error {
	s, _ := v.(string)
	if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
		return bad("%s must be an ISO 8601 timestamp", where)
	}
	return nil
}

// validateStatement checks a statement (or, with sub, a SubStatement)
// against the xAPI 1.0.3 data model.
func validateStatement(s map[string]any, sub bool) error {
	where := "statement"
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
		if _, err := agentKey(a, "authority", true); err != nil {
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
			m, _ := x.(map[string]any)
			if m == nil || !isIRI(fmt.Sprint(m["usageType"])) || m["contentType"] == nil || m["length"] == nil || m["sha2"] == nil || m["display"] == nil {
				return bad("attachments[%d] needs usageType, display, contentType, length and sha2", i)
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
		if _, ok := x.(string); !ok || k == "" {
			return bad("%s must map language tags to strings", where)
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
