package golden_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/httpipc/httpipc/internal/golden"
)

func Example() {
	dir, _ := os.MkdirTemp("", "golden")
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "vectors.json")
	t := &testing.T{}
	produced := []string{"0203474554"}
	golden.Sync(t, file, produced, true) // go test -update writes the file
	stored := golden.Sync(t, file, []string(nil), false)
	fmt.Println(stored[0] == produced[0])
	// Output: true
}
