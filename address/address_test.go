package address

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Address
		wantErr string // part of the message; "" for success
	}{
		{"unix:/run/user/1000/httpipc/lms.sock", Address{Kind: Unix, Path: "/run/user/1000/httpipc/lms.sock"}, ""},
		{"unix:@httpipc-lms", Address{Kind: Abstract, Path: "httpipc-lms"}, ""},
		{"fd:3", Address{Kind: FD, FD: 3}, ""},
		{"fd:0", Address{Kind: FD, FD: 0}, ""},
		{"pipe:httpipc-lms", Address{Kind: Pipe, Path: "httpipc-lms"}, ""},
		{"org.example.lms", Address{Kind: Name, Name: "org.example.lms"}, ""},
		{"dbus:org.example.LMS", Address{Kind: DBus, Name: "org.example.LMS"}, ""},
		{"dbus:lms", Address{}, "bus name"},
		{"xpc:9ABCDE1234.org.example.lms", Address{Kind: XPC, Name: "9ABCDE1234.org.example.lms"}, ""},
		{"xpc:lms", Address{}, "Mach service name"},
		{"xpc:a..b", Address{}, "empty element"},
		{"org.example-2.my_lms", Address{Kind: Name, Name: "org.example-2.my_lms"}, ""},
		{"", Address{}, "empty"},
		{" unix:/a", Address{}, "white space"},
		{"unix:relative.sock", Address{}, "absolute"},
		{"unix:/a/../b", Address{}, "not clean"},
		{"unix:/a//b", Address{}, "not clean"},
		{"unix:/a/", Address{}, "not clean"},
		{"unix:/" + strings.Repeat("x", 107), Address{}, "at most 107"},
		{"unix:@", Address{}, "1 to 106"},
		{"unix:/a\x00b", Address{}, "NUL"},
		{"fd:", Address{}, "decimal"},
		{"fd:-1", Address{}, "decimal"},
		{"fd:03", Address{}, "leading zeros"},
		{"fd:99999999999", Address{}, "out of range"},
		{"pipe:", Address{}, "1 to 256"},
		{`pipe:a\b`, Address{}, `'\'`},
		{"http://example.com", Address{}, "unknown scheme"},
		{"lms", Address{}, "two dot-separated"},
		{"org..lms", Address{}, "empty element"},
		{"org.1example", Address{}, "starts with a digit"},
		{"org.exa mple", Address{}, "character"},
		{strings.Repeat("a.", 128) + "a", Address{}, "longer than 255"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if tt.wantErr != "" {
			if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse(%q) error %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			continue
		}
		if back, err := Parse(got.String()); err != nil || back != got {
			t.Errorf("Parse(String()) of %q = %+v, %v", tt.in, back, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"unix:/a.sock", "unix:@x", "fd:3", "pipe:p", "org.example.lms", "x:y", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v does not wrap ErrSyntax", err)
			}
			return
		}
		back, err := Parse(a.String())
		if err != nil || back != a {
			t.Fatalf("%q: String %q parses to %+v, %v", s, a.String(), back, err)
		}
	})
}
