//go:build unix && !linux && !darwin

package transport

// moveNoReplace renames from (in fromDir) to to (in toDir), failing with
// EEXIST rather than replacing anything at to.
func moveNoReplace(fromDir int, from string, toDir int, to string) error {
	return linkMove(fromDir, from, toDir, to)
}
