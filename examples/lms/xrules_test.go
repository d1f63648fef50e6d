package lms

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestDataRules checks the xAPI 1.0.3 data rules one property at a time:
// each statement is the valid one with one change.
func TestDataRules(t *testing.T) {
	const actor = `"actor":{"mbox":"mailto:sam@school.example"}`
	const verb = `"verb":{"id":"http://adlnet.gov/expapi/verbs/answered","display":{"en-US":"answered"}}`
	with := func(object string, extra ...string) string {
		s := `{` + actor + `,` + verb + `,"object":` + object
		for _, e := range extra {
			s += "," + e
		}
		return s + "}"
	}
	act := func(def string) string { return `{"id":"https://math.example/q/1","definition":` + def + `}` }
	sub := func(inner string) string {
		return `{"objectType":"SubStatement",` + actor + `,` + verb + `,"object":` + inner + `}`
	}
	att := func(fields string) string {
		return `"attachments":[{"usageType":"http://example.com/usage","display":{"en-US":"a"},"contentType":"text/plain","length":27,"sha2":"495395e777cd98da","fileUrl":"http://x.example/f.txt"` + fields + `}]`
	}
	for _, tc := range []struct {
		name, stmt, reason string // reason "": valid
	}{
		{"valid interaction", with(act(`{"name":{"en-GB":"Q1","zh-Hant":"一"},"description":{"sr-Latn-RS":"x"},"type":"http://adlnet.gov/expapi/activities/cmi.interaction","moreInfo":"https://math.example/","interactionType":"choice","correctResponsesPattern":["a"],"choices":[{"id":"a","description":{"de":"A"}},{"id":"b"}],"extensions":{"https://math.example/x":null}}`)), ""},
		{"null property", with(lesson1, `"result":{"response":null}`), "null"},
		{"null in extensions", with(lesson1, `"result":{"extensions":{"https://math.example/x":null}}`), ""},
		{"null in a language map", `{` + actor + `,"verb":{"id":"http://x.example/v","display":{"en-US":null}},"object":` + lesson1 + `}`, "null"},
		{"interactionType case", with(act(`{"interactionType":"Choice"}`)), "interactionType"},
		{"interactionType numeric", with(act(`{"interactionType":1}`)), "interactionType"},
		{"choices without interactionType", with(act(`{"choices":[{"id":"a"}]}`)), "without interactionType"},
		{"pattern without interactionType", with(act(`{"correctResponsesPattern":["a"]}`)), "without interactionType"},
		{"component without id", with(act(`{"interactionType":"likert","scale":[{"description":{"en":"x"}}]}`)), "needs an id"},
		{"name not a language map", with(act(`{"name":"Q1"}`)), "language map"},
		{"description numeric", with(act(`{"description":12}`)), "language map"},
		{"bad language tag", with(act(`{"name":{"something":"x"}}`)), "RFC 5646"},
		{"repeated extension singleton", with(act(`{"name":{"zh-z-aaa-z-bbb-c-ccc":"x"}}`)), "RFC 5646"},
		{"type not an IRI", with(act(`{"type":"question"}`)), "type"},
		{"moreInfo not an IRI", with(act(`{"moreInfo":"here"}`)), "moreInfo"},
		{"extensions not an object", with(act(`{"extensions":"x"}`)), "extensions"},
		{"extension key not an IRI", with(lesson1, `"context":{"extensions":{"key":1}}`), "not an IRI"},
		{"response numeric", with(lesson1, `"result":{"response":1}`), "response"},
		{"duration", with(lesson1, `"result":{"duration":"PT4H35M59.14S"}`), ""},
		{"duration in weeks", with(lesson1, `"result":{"duration":"P4W"}`), ""},
		{"weeks and days", with(lesson1, `"result":{"duration":"P4W1D"}`), "duration"},
		{"duration not ISO", with(lesson1, `"result":{"duration":"PA1H0M0S"}`), "duration"},
		{"duration with T and nothing", with(lesson1, `"result":{"duration":"P1DT"}`), "duration"},
		{"raw above max", with(lesson1, `"result":{"score":{"raw":11,"min":0,"max":10}}`), "raw"},
		{"raw below min", with(lesson1, `"result":{"score":{"raw":-1,"min":0}}`), "raw"},
		{"min above max", with(lesson1, `"result":{"score":{"min":5,"max":1}}`), "min"},
		{"revision numeric", with(lesson1, `"context":{"revision":1}`), "revision"},
		{"platform object", with(lesson1, `"context":{"platform":{}}`), "platform"},
		{"language", with(lesson1, `"context":{"language":"cmn"}`), ""},
		{"bad language", with(lesson1, `"context":{"language":"a12345"}`), "language"},
		{"mbox without an address", `{"actor":{"mbox":"mailto:should.fail.com"},` + verb + `,"object":` + lesson1 + `}`, "mbox"},
		{"substatement checked too", with(sub(act(`{"interactionType":"true-faLse"}`))), "interactionType"},
		{"substatement context language", with(sub(lesson1)[:len(sub(lesson1))-1] + `,"context":{"language":"x-"}}`), "language"},
		{"authority group of two", with(lesson1, `"authority":{"objectType":"Group","member":[{"account":{"homePage":"http://x.example","name":"app"}},{"mbox":"mailto:a@b.c"}]}`), ""},
		{"authority group of three", with(lesson1, `"authority":{"objectType":"Group","member":[{"mbox":"mailto:a@b.c"},{"mbox":"mailto:b@b.c"},{"mbox":"mailto:c@b.c"}]}`), "two members"},
		{"authority identified group", with(lesson1, `"authority":{"objectType":"Group","mbox":"mailto:g@b.c","member":[{"mbox":"mailto:a@b.c"},{"mbox":"mailto:b@b.c"}]}`), "anonymous"},
		{"attachment", with(lesson1, att(``)), ""},
		{"attachment length string", with(lesson1, strings.Replace(att(``), `"length":27`, `"length":"27"`, 1)), "length"},
		{"attachment sha2 numeric", with(lesson1, strings.Replace(att(``), `"sha2":"495395e777cd98da"`, `"sha2":1`, 1)), "sha2"},
		{"attachment contentType numeric", with(lesson1, strings.Replace(att(``), `"contentType":"text/plain"`, `"contentType":1`, 1)), "contentType"},
		{"attachment fileUrl", with(lesson1, strings.Replace(att(``), `"http://x.example/f.txt"`, `"here"`, 1)), "fileUrl"},
		{"attachment description", with(lesson1, att(`,"description":"x"`)), "description"},
		{"timestamp -00:00", with(lesson1, `"timestamp":"2008-09-15T15:53:00.601-00:00"`), "-00:00"},
		{"timestamp +00:00", with(lesson1, `"timestamp":"2008-09-15T15:53:00.601+00:00"`), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s map[string]any
			if err := json.Unmarshal([]byte(tc.stmt), &s); err != nil {
				t.Fatalf("test statement: %v", err)
			}
			err := validateStatement(s, false)
			switch {
			case tc.reason == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.reason != "" && err == nil:
				t.Fatalf("accepted, want a refusal about %s", tc.reason)
			case err != nil && (!errors.Is(err, errBadStatement) || !strings.Contains(err.Error(), tc.reason) || strings.Contains(err.Error(), "\n")):
				t.Fatalf("refused with %q, want a one-line 400 about %s", err, tc.reason)
			}
		})
	}
}

func TestLangTags(t *testing.T) {
	for tag, ok := range map[string]bool{
		"en": true, "en-US": true, "de": true, "cmn": true, "zh-Hant": true, "sr-Latn-RS": true, "es-419": true,
		"zh-yue-HK": true, "de-CH-1901": true, "en-a-bbb-x-a-ccc": true, "x-whatever": true, "i-klingon": true,
		"tlh": true, "und": true,
		"something": false, "a12345": false, "": false, "en-": false, "-en": false, "x-": false, "e": false,
		"de-1901-1901": false, "zh-z-aaa-z-bbb-c-ccc": false, "en-a": false, "en-US-x": false, "123": false,
	} {
		if got := validLangTag(tag); got != ok {
			t.Errorf("validLangTag(%q) = %v, want %v", tag, got, ok)
		}
	}
}

func TestDurations(t *testing.T) {
	for d, ok := range map[string]bool{
		"PT4H35M59.14S": true, "P1Y2M3DT4H5M6S": true, "P3W": true, "PT0S": true, "P0.5D": true, "PT1,5H": true,
		"P": false, "PT": false, "P1DT": false, "P4W1D": false, "PA1H0M0S": false, "P1M1Y": false, "PT1.5H2M": false,
		"1D": false, "P-1D": false, "P.5D": false, "PT1H1H": false,
	} {
		if got := validDuration(d); got != ok {
			t.Errorf("validDuration(%q) = %v, want %v", d, got, ok)
		}
	}
}
