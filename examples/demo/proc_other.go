//go:build !unix

package main

import "os"

// alive reports whether process pid exists. Elsewhere than on Unix the
// demo's LMS app is not started (its service entry needs a Unix socket).
func alive(pid int) bool {
	_, err := os.FindProcess(pid)
	return err == nil
}

// kill stops process pid at once.
func kill(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}
