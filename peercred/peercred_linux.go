//go:build linux

package peercred

import "golang.org/x/sys/unix"

func fromFD(fd int) (*Creds, error) {
	u, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return nil, err
	}
	return &Creds{PID: int(u.Pid), UID: int(u.Uid), GID: int(u.Gid)}, nil
}
