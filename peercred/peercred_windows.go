//go:build windows

package peercred

import (
	"fmt"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/windows"
)

// Self returns the credentials of the current process.
func Self() *Creds {
	c := &Creds{PID: os.Getpid(), UID: -1, GID: -1}
	if u, err := windows.GetCurrentProcessToken().GetTokenUser(); err == nil {
		c.SID = u.User.Sid.String()
	}
	return c
}

// get identifies the client of a named-pipe connection: its process id from
// the pipe, and the user SID of that process's token. The server end must
// be a go-winio pipe connection (it exposes its handle through Fd).
func get(c net.Conn) (*Creds, error) {
	h, ok := c.(interface{ Fd() uintptr })
	if !ok {
		if sc, isSys := c.(syscall.Conn); isSys {
			return fromSyscall(sc)
		}
		return nil, fmt.Errorf("%w: %T", ErrNotSupported, c)
	}
	return fromHandle(windows.Handle(h.Fd()))
}

func fromSyscall(sc syscall.Conn) (*Creds, error) {
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("peercred: %w", err)
	}
	var creds *Creds
	var cerr error
	if err := rc.Control(func(fd uintptr) { creds, cerr = fromHandle(windows.Handle(fd)) }); err != nil {
		return nil, fmt.Errorf("peercred: %w", err)
	}
	return creds, cerr
}

func fromHandle(h windows.Handle) (*Creds, error) {
	var pid uint32
	if err := windows.GetNamedPipeClientProcessId(h, &pid); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotSupported, err)
	}
	c := &Creds{PID: int(pid), UID: -1, GID: -1}
	p, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return nil, fmt.Errorf("peercred: opening client process %d: %w", pid, err)
	}
	defer windows.CloseHandle(p)
	var tok windows.Token
	if err := windows.OpenProcessToken(p, windows.TOKEN_QUERY, &tok); err != nil {
		return nil, fmt.Errorf("peercred: token of client process %d: %w", pid, err)
	}
	defer tok.Close()
	u, err := tok.GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("peercred: user of client process %d: %w", pid, err)
	}
	c.SID = u.User.Sid.String()
	return c, nil
}
