//go:build linux

package transport

import "golang.org/x/sys/unix"

// moveNoReplace renames from (in fromDir) to to (in toDir), failing with
// EEXIST rather than replacing anything at to.
func moveNoReplace(fromDir int, from string, toDir int, to string) error {
	err := unix.Renameat2(fromDir, from, toDir, to, unix.RENAME_NOREPLACE)
	if err == unix.EINVAL || err == unix.ENOSYS {
		// A file system without RENAME_NOREPLACE.
		return linkMove(fromDir, from, toDir, to)
	}
	return err
}
