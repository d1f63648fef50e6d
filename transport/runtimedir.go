package transport

import (
	"os"
	"path/filepath"
	"strconv"
)

// FallbackRuntimeDir is the directory of default socket files when
// XDG_RUNTIME_DIR is not set: TMPDIR/httpipc-UID. Its name is predictable
// and its parent is shared, so OpenSocketDir holds it to the strictest rule:
// a directory (not a symbolic link) owned by this user with mode 0700.
func FallbackRuntimeDir() string {
	return filepath.Join(os.TempDir(), "httpipc-"+strconv.Itoa(os.Getuid()))
}
