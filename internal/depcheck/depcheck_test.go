package depcheck

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// forbidden are the modules that the root package and mobile must not
// link, each with why it is elsewhere.
var forbidden = map[string]string{
	"github.com/vishvananda/netlink": "the Linux loopback peer lookup (internal/loopback, for proxy and oauth/authclient)",
	"github.com/ory/fosite":          "the OAuth server (oauth/authserver)",
	"modernc.org/sqlite":             "the databases of oauth/authserver and examples/lms",
	"github.com/chromedp/":           "browser tests (proxy, examples)",
}

// TestDeps runs "go list -deps" for the root package and mobile on the
// platforms they are built for, and fails naming any forbidden module.
//
// mobile is what gomobile binds for Android and iOS: there it must link
// none of them. On desktop Linux (where its tests run) it may link netlink:
// Client.StartProxy's proxy admits only this user's processes, which on
// Linux it tells by asking the kernel through netlink; Android's sandbox
// forbids that lookup, so Android builds leave it out.
func TestDeps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	const root = "github.com/httpipc/httpipc"
	type target struct {
		pkg, goos, goarch string
		allow             string // a forbidden module this target may link
	}
	var targets []target
	for _, p := range []string{"linux/amd64", "darwin/arm64", "windows/amd64", "android/arm64", "ios/arm64"} {
		goos, goarch, _ := strings.Cut(p, "/")
		targets = append(targets, target{pkg: root, goos: goos, goarch: goarch})
		allow := ""
		if goos == "linux" {
			allow = "github.com/vishvananda/netlink"
		}
		targets = append(targets, target{pkg: root + "/mobile", goos: goos, goarch: goarch, allow: allow})
	}
	for _, tg := range targets {
		name := "root"
		if tg.pkg != root {
			name = strings.TrimPrefix(tg.pkg, root+"/")
		}
		t.Run(name+"/"+tg.goos, func(t *testing.T) {
			cmd := exec.Command("go", "list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}", tg.pkg)
			// gomobile builds with cgo; listing needs no C compiler.
			cmd.Env = append(os.Environ(), "GOOS="+tg.goos, "GOARCH="+tg.goarch, "CGO_ENABLED=1")
			out, err := cmd.Output()
			if err != nil {
				if ee, ok := err.(*exec.ExitError); ok {
					t.Fatalf("go list: %v\n%s", err, ee.Stderr)
				}
				t.Fatalf("go list: %v", err)
			}
			mods := map[string]bool{}
			for _, m := range strings.Fields(string(out)) {
				mods[m] = true
			}
			if len(mods) == 0 {
				t.Fatal("go list named no modules")
			}
			for m := range mods {
				for f, why := range forbidden {
					if (m == f || strings.HasPrefix(m, strings.TrimSuffix(f, "/")+"/")) && f != tg.allow {
						t.Errorf("%s on %s/%s links %s, which belongs only to %s", tg.pkg, tg.goos, tg.goarch, m, why)
					}
				}
			}
		})
	}
}

// TestNoExampleImports: no package outside examples/ imports one under it,
// not even in its tests. The example apps are users of the module, like
// anyone's apps; the module does not depend on them.
func TestNoExampleImports(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	const examples = "github.com/httpipc/httpipc/examples/"
	out, err := exec.Command("go", "list", "-deps", "-test", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "github.com/httpipc/httpipc/...").Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || !strings.HasPrefix(fields[0], "github.com/httpipc/httpipc") {
			continue
		}
		n++
		// A test variant is named "pkg [pkg.test]" or "pkg_test [pkg.test]".
		pkg := strings.TrimSuffix(fields[0], "_test")
		if strings.HasPrefix(pkg+"/", examples) {
			continue
		}
		for _, imp := range fields[1:] {
			if strings.HasPrefix(imp, examples) {
				t.Errorf("%s imports %s", fields[0], imp)
			}
		}
	}
	if n == 0 {
		t.Fatal("go list named no packages of this module")
	}
}
