//go:build unix

package main

import "syscall"

// alive reports whether process pid exists.
func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// kill stops process pid at once.
func kill(pid int) { syscall.Kill(pid, syscall.SIGKILL) }
