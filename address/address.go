// Package address parses ipc-service addresses: the one string that names
// where an httpipc provider listens.
//
// The grammar (ABNF, RFC 5234):
//
//	ipc-service   = unix-path / unix-abstract / fd / pipe / dbus / xpc / service-name
//	unix-path     = "unix:" abs-path        ; clean absolute path, at most 107 bytes
//	unix-abstract = "unix:@" 1*106OCTET-NZ  ; Linux abstract namespace
//	fd            = "fd:" ("0" / (%x31-39 *DIGIT))  ; at most 2147483647
//	pipe          = "pipe:" 1*256pipe-char  ; Windows \\.\pipe\NAME; no "\", "/" or NUL
//	dbus          = "dbus:" service-name    ; a well-known name on the session bus
//	xpc           = "xpc:" mach-name        ; a launchd Mach service (docs/XPC.md)
//	mach-name     = mach-elem 1*("." mach-elem) ; at most 255 characters
//	mach-elem     = 1*(ALPHA / DIGIT / "_" / "-") ; may start with a digit (team ids)
//	service-name  = element 1*("." element) ; at most 255 characters
//	element       = (ALPHA / "_" / "-") *(ALPHA / DIGIT / "_" / "-")
//
// Parsing is strict: anything else, including surrounding white space, is an
// error that says what is wrong.
package address

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
)

// Kind says which form an Address has.
type Kind int

// The kinds of address.
const (
	Unix     Kind = iota + 1 // a socket file
	Abstract                 // a Linux abstract socket
	FD                       // an inherited descriptor
	Pipe                     // a Windows named pipe
	Name                     // a service name, resolved through the service directory
	DBus                     // a well-known name on the D-Bus session bus
	XPC                      // a launchd Mach service reached over XPC (macOS); no Go transport
)

// Address is a parsed ipc-service address.
type Address struct {
	Kind Kind
	Path string // Unix: socket path; Abstract: name without '@'; Pipe: pipe name
	FD   int    // FD: descriptor number
	Name string // Name, DBus, XPC: service, bus or Mach service name, e.g. "org.example.lms"
}

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("address: invalid ipc-service address")

const (
	maxUnixPath     = 107 // sun_path holds 108 bytes with the NUL
	maxAbstract     = 106
	maxPipeName     = 256
	maxServiceName  = 255
	maxFD           = 1<<31 - 1
	acceptedFormsIs = `unix:/abs/path.sock, unix:@name, fd:N, pipe:NAME, dbus:NAME, xpc:NAME or a service name like org.example.lms`
)

func syntax(s, format string, args ...any) error {
	return fmt.Errorf("%w %q: %s", ErrSyntax, s, fmt.Sprintf(format, args...))
}

// Parse parses an ipc-service address.
func Parse(s string) (Address, error) {
	if s == "" {
		return Address{}, syntax(s, "empty; want %s", acceptedFormsIs)
	}
	if strings.TrimSpace(s) != s {
		return Address{}, syntax(s, "leading or trailing white space")
	}
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok {
		if err := checkName(s); err != nil {
			return Address{}, syntax(s, "%s", err)
		}
		return Address{Kind: Name, Name: s}, nil
	}
	if strings.ContainsRune(s, 0) {
		return Address{}, syntax(s, "contains a NUL byte")
	}
	switch scheme {
	case "unix":
		if strings.HasPrefix(rest, "@") {
			name := rest[1:]
			if name == "" || len(name) > maxAbstract {
				return Address{}, syntax(s, "abstract socket name must be 1 to %d bytes", maxAbstract)
			}
			return Address{Kind: Abstract, Path: name}, nil
		}
		if !strings.HasPrefix(rest, "/") {
			return Address{}, syntax(s, "socket path must be absolute (unix:/path) or abstract (unix:@name)")
		}
		if path.Clean(rest) != rest {
			return Address{}, syntax(s, "socket path is not clean (no '.', '..', '//' or trailing '/'); did you mean unix:%s?", path.Clean(rest))
		}
		if len(rest) > maxUnixPath {
			return Address{}, syntax(s, "socket path is %d bytes; Unix sockets allow at most %d", len(rest), maxUnixPath)
		}
		return Address{Kind: Unix, Path: rest}, nil
	case "fd":
		if rest == "" || (len(rest) > 1 && rest[0] == '0') || strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
			return Address{}, syntax(s, "descriptor must be a decimal number without sign or leading zeros")
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n > maxFD {
			return Address{}, syntax(s, "descriptor out of range")
		}
		return Address{Kind: FD, FD: n}, nil
	case "dbus":
		if err := checkName(rest); err != nil {
			return Address{}, syntax(s, "bus name: %s", err)
		}
		return Address{Kind: DBus, Name: rest}, nil
	case "xpc":
		if err := checkMachName(rest); err != nil {
			return Address{}, syntax(s, "Mach service name: %s", err)
		}
		return Address{Kind: XPC, Name: rest}, nil
	case "pipe":
		if rest == "" || len(rest) > maxPipeName {
			return Address{}, syntax(s, "pipe name must be 1 to %d characters", maxPipeName)
		}
		if strings.ContainsAny(rest, `\/`) {
			return Address{}, syntax(s, `pipe name must not contain '\' or '/'`)
		}
		return Address{Kind: Pipe, Path: rest}, nil
	}
	return Address{}, syntax(s, "unknown scheme %q; want %s", scheme, acceptedFormsIs)
}

// checkMachName validates the name of a launchd Mach service: dot-separated
// elements of letters, digits, '_' and '-', which (unlike a service name's)
// may start with a digit, as an Apple team id does.
func checkMachName(s string) error {
	if len(s) > maxServiceName {
		return fmt.Errorf("name is longer than %d characters", maxServiceName)
	}
	elems := strings.Split(s, ".")
	if len(elems) < 2 {
		return errors.New("want at least two dot-separated elements, like TEAMID.org.example.lms")
	}
	for _, e := range elems {
		if e == "" {
			return errors.New("name has an empty element")
		}
		for i := 0; i < len(e); i++ {
			c := e[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
				return fmt.Errorf("element %q has character %q; allowed are letters, digits, '_' and '-'", e, c)
			}
		}
	}
	return nil
}

// checkName validates a reverse-DNS service name.
func checkName(s string) error {
	if len(s) > maxServiceName {
		return fmt.Errorf("service name is longer than %d characters", maxServiceName)
	}
	elems := strings.Split(s, ".")
	if len(elems) < 2 {
		return fmt.Errorf("not a service name (want at least two dot-separated elements, like org.example.lms) nor scheme:value; want %s", acceptedFormsIs)
	}
	for _, e := range elems {
		if e == "" {
			return errors.New("service name has an empty element")
		}
		if e[0] >= '0' && e[0] <= '9' {
			return fmt.Errorf("service name element %q starts with a digit", e)
		}
		for i := 0; i < len(e); i++ {
			c := e[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
				return fmt.Errorf("service name element %q has character %q; allowed are letters, digits, '_' and '-'", e, c)
			}
		}
	}
	return nil
}

// String returns the canonical form, which Parse turns back into a.
func (a Address) String() string {
	switch a.Kind {
	case Unix:
		return "unix:" + a.Path
	case Abstract:
		return "unix:@" + a.Path
	case FD:
		return "fd:" + strconv.Itoa(a.FD)
	case Pipe:
		return "pipe:" + a.Path
	case Name:
		return a.Name
	case DBus:
		return "dbus:" + a.Name
	case XPC:
		return "xpc:" + a.Name
	}
	return "invalid-address"
}
