package otheruser_test

import (
	"strings"
	"testing"

	"github.com/httpipc/httpipc/internal/otheruser"
)

func TestCommandRunsAsNobody(t *testing.T) {
	otheruser.Require(t)
	out, err := otheruser.Command("id", "-u").CombinedOutput()
	if err != nil {
		t.Fatalf("id -u as the other user: %v: %s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "65534" {
		t.Fatalf("id -u = %q, want 65534", got)
	}
}

func TestExecutableRunsAsNobody(t *testing.T) {
	otheruser.Require(t)
	path := otheruser.Executable(t)
	out, err := otheruser.Command(path, "-test.run", "^$").CombinedOutput()
	if err != nil {
		t.Fatalf("the copied test binary as the other user: %v: %s", err, out)
	}
}
