//go:build darwin

package transport

import "golang.org/x/sys/unix"

// moveNoReplace renames from (in fromDir) to to (in toDir), failing with
// EEXIST rather than replacing anything at to.
func moveNoReplace(fromDir int, from string, toDir int, to string) error {
	err := unix.RenameatxNp(fromDir, from, toDir, to, unix.RENAME_EXCL)
	if err == unix.ENOTSUP {
		return linkMove(fromDir, from, toDir, to)
	}
	return err
}
