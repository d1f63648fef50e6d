package speccheck

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/httpipc/httpipc/internal/conformance"
)

// root is the repository's top directory.
const root = "../.."

// spec reads docs/PROTOCOL.md.
func spec(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "docs", "PROTOCOL.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sections returns the numbered sections of the specification: number to
// title, and number to the text up to the next numbered section.
func sections(t *testing.T) (titles, texts map[int]string) {
	t.Helper()
	titles, texts = map[int]string{}, map[int]string{}
	heading := regexp.MustCompile(`^### (\d+)\. (.+)$`)
	cur := 0
	sc := bufio.NewScanner(strings.NewReader(spec(t)))
	for sc.Scan() {
		line := sc.Text()
		if m := heading.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			if _, dup := titles[n]; dup {
				t.Fatalf("PROTOCOL.md numbers two sections %d", n)
			}
			if n != cur+1 {
				t.Errorf("PROTOCOL.md: section %d follows section %d", n, cur)
			}
			titles[n], cur = m[2], n
			continue
		}
		if cur > 0 {
			texts[cur] += line + "\n"
		}
	}
	return titles, texts
}

// TestFourParts checks the specification's outline: the common rules, the
// stream binding, the message binding and the platform bindings, in that
// order, with the sections each part names.
func TestFourParts(t *testing.T) {
	want := []string{
		"## Part I: Common rules",
		"## Part II: The stream binding",
		"## Part III: The message binding",
		"## Part IV: Platform bindings",
		"## Appendices",
	}
	var got []string
	for _, line := range strings.Split(spec(t), "\n") {
		if strings.HasPrefix(line, "## ") {
			got = append(got, line)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("PROTOCOL.md parts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	titles, _ := sections(t)
	for n, title := range map[int]string{
		3: "HTTP messages", 4: "Errors and limits", 5: "Identity",
		6: "Connection preface", 9: "Message mode", 10: "Streams over messages",
		11: "Unix sockets and on-demand start", 12: "D-Bus", 13: "Android Binder",
		15: "Test vectors",
	} {
		if titles[n] != title {
			t.Errorf("section %d is %q, want %q (the code cites it by number)", n, titles[n], title)
		}
	}
}

// TestOneErrorTable checks that section 4 holds the only table of
// httpipc-error codes and that it lists exactly the codes of
// internal/httpmsg, the one source of the implementation's codes.
func TestOneErrorTable(t *testing.T) {
	_, texts := sections(t)
	row := regexp.MustCompile("^\\| (\\d{3}) \\| `([a-z-]+)` \\|")
	inTable := map[string]bool{}
	for _, line := range strings.Split(texts[4], "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			inTable[m[2]] = true
		}
	}
	for n, text := range texts {
		if n != 4 && strings.Contains(text, "| `httpipc-error` |") {
			t.Errorf("section %d has a table of httpipc-error codes; they belong in section 4's one table", n)
		}
	}

	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join(root, "internal", "httpmsg", "httpmsg.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	inCode := map[string]bool{}
	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		for _, spec := range gen.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Code") || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					v, _ := strconv.Unquote(lit.Value)
					inCode[v] = true
				}
			}
		}
	}
	if len(inCode) == 0 {
		t.Fatal("no Code constants found in internal/httpmsg/httpmsg.go")
	}
	if a, b := keys(inTable), keys(inCode); a != b {
		t.Errorf("section 4's table lists codes %s; internal/httpmsg defines %s", a, b)
	}
}

func keys(m map[string]bool) string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}

// TestConformanceSections checks that every case of httpipc conformance
// names a section that exists, and a subsection or rule that the section
// has.
func TestConformanceSections(t *testing.T) {
	titles, texts := sections(t)
	label := regexp.MustCompile(`^(\d+)(?: rule (\d+)| ([A-Z][a-z]+))?$`)
	for _, c := range conformance.Cases() {
		m := label.FindStringSubmatch(c.Section)
		if m == nil {
			t.Errorf("case %s: section label %q is not \"N\", \"N rule R\" or \"N Word\"", c.Name, c.Section)
			continue
		}
		n, _ := strconv.Atoi(m[1])
		if _, ok := titles[n]; !ok {
			t.Errorf("case %s: PROTOCOL.md has no section %d", c.Name, n)
			continue
		}
		if m[2] != "" && !strings.Contains(texts[n], "\n"+m[2]+". **") {
			t.Errorf("case %s: section %d has no rule %s", c.Name, n, m[2])
		}
		if m[3] != "" && !strings.Contains(texts[n], m[3]) {
			t.Errorf("case %s: section %d says nothing of %s", c.Name, n, m[3])
		}
	}
}

// TestReferences checks every reference to a section of the specification
// in the repository's Go, Kotlin and Markdown files ("docs/PROTOCOL.md,
// section N", "protocol section N", "PROTOCOL.md section N", and bare
// "section N" inside PROTOCOL.md itself): the section exists, and links to
// its headings resolve.
func TestReferences(t *testing.T) {
	titles, _ := sections(t)
	out, err := exec.Command("git", "-C", root, "ls-files", "*.go", "*.kt", "*.md", "*.xml").Output()
	if err != nil {
		t.Skipf("git ls-files: %v", err)
	}
	anchors := map[string]bool{}
	for n, title := range titles {
		anchors[anchor(strconv.Itoa(n)+". "+title)] = true
	}
	for _, line := range strings.Split(spec(t), "\n") {
		if strings.HasPrefix(line, "#") {
			anchors[anchor(strings.TrimLeft(line, "# "))] = true
		}
	}
	ref := regexp.MustCompile(`(?:PROTOCOL\.md,? [Ss]ections?|[Pp]rotocol [Ss]ections?) (\d+)[a-z]?(?:(?: to | and )(\d+)[a-z]?)?`)
	bare := regexp.MustCompile(`\b[Ss]ections? (\d+)[a-z]?\b(?:\.\d)?`)
	link := regexp.MustCompile(`PROTOCOL\.md#([a-z0-9-]+)`)
	for _, file := range strings.Fields(string(out)) {
		b, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(strings.Fields(string(b)), " ") // references may break across lines
		check := func(num string) {
			n, _ := strconv.Atoi(num)
			if _, ok := titles[n]; !ok {
				t.Errorf("%s cites section %s of PROTOCOL.md, which has no such section", file, num)
			}
		}
		for _, m := range ref.FindAllStringSubmatch(text, -1) {
			check(m[1])
			if m[2] != "" {
				check(m[2])
			}
		}
		if file == "docs/PROTOCOL.md" {
			for _, m := range bare.FindAllStringSubmatchIndex(text, -1) {
				if strings.Contains(text[m[0]:m[1]], ".") || strings.HasSuffix(strings.TrimSpace(text[max(0, m[0]-12):m[0]]), "RFC") || regexp.MustCompile(`RFC \d+,? $`).MatchString(text[max(0, m[0]-12):m[0]]) {
					continue // a section of an RFC
				}
				check(text[m[2]:m[3]])
			}
		}
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			if !anchors[m[1]] {
				t.Errorf("%s links to PROTOCOL.md#%s, which is no heading", file, m[1])
			}
		}
	}
}

// anchor is the fragment GitHub gives a Markdown heading.
func anchor(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}
