//go:build linux

package message

import "golang.org/x/sys/unix"

const msgTrunc = unix.MSG_TRUNC
