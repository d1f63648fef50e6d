package lms

import (
	"sort"
	"strconv"
	"strings"
)

// Language maps in format=canonical: each keeps the one language the
// request's Accept-Language prefers.

// acceptLanguages returns the language ranges of an Accept-Language
// header, most wanted first (by q, then by order), without those with
// q=0.
func acceptLanguages(h string) []string {
	type lr struct {
		tag string
		q   float64
	}
	var list []lr
	for _, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(part, ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		if tag == "" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "q="); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= 1 {
					q = f
				}
			}
		}
		if q > 0 && len(list) < 32 {
			list = append(list, lr{tag, q})
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].q > list[j].q })
	out := make([]string, len(list))
	for i, l := range list {
		out[i] = l.tag
	}
	return out
}

// pickLanguage returns the key of m that langs prefer: an exact match,
// then a key the range is a prefix of (en: en-GB) or that is a prefix of
// the range (en-GB: en), then one of the same primary language (en-GB:
// en-US), for each range in turn; "*" or no match takes the first key in
// sorted order (so that the choice is stable).
func pickLanguage(m map[string]any, langs []string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return ""
	}
	for _, l := range langs {
		if l == "*" {
			return keys[0]
		}
		for _, k := range keys {
			if strings.EqualFold(k, l) {
				return k
			}
		}
		for _, k := range keys {
			lk := strings.ToLower(k)
			if strings.HasPrefix(lk, l+"-") || strings.HasPrefix(l, lk+"-") {
				return k
			}
		}
		primary, _, _ := strings.Cut(l, "-")
		for _, k := range keys {
			if p, _, _ := strings.Cut(strings.ToLower(k), "-"); p == primary {
				return k
			}
		}
	}
	return keys[0]
}

// isLangMap: a non-empty object of strings.
func isLangMap(m map[string]any) bool {
	if len(m) == 0 {
		return false
	}
	for _, v := range m {
		if _, ok := v.(string); !ok {
			return false
		}
	}
	return true
}

// canonical returns a copy of v whose language maps (display, name,
// description) hold one language each. Extensions are left as they are.
func canonical(v any, key string, langs []string) any {
	switch x := v.(type) {
	case map[string]any:
		if (key == "display" || key == "name" || key == "description") && isLangMap(x) {
			k := pickLanguage(x, langs)
			return map[string]any{k: x[k]}
		}
		c := make(map[string]any, len(x))
		for k, e := range x {
			if k == "extensions" {
				c[k] = e
				continue
			}
			c[k] = canonical(e, k, langs)
		}
		return c
	case []any:
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = canonical(e, key, langs)
		}
		return c
	}
	return v
}
