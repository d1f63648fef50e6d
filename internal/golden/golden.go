// Package golden keeps test vectors in testdata files in step with the code
// that produces them: tests define the vectors, the files hold them for
// implementations in other languages.
package golden

import (
	"encoding/json"
	"os"
	"testing"
)

// Sync writes want to file as indented JSON when update is set, then reads
// the file back into a value of the same type, for the test to compare
// against what the code produces now.
func Sync[T any](t testing.TB, file string, want T, update bool) T {
	t.Helper()
	if update {
		out, err := json.MarshalIndent(want, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var stored T
	if err := json.Unmarshal(data, &stored); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return stored
}
