//go:build unix

package activation

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/httpipc/httpipc/address"
	"github.com/httpipc/httpipc/servicedir"
	"github.com/httpipc/httpipc/transport"
)

// trampoline sets LISTEN_PID to the pid the program will have, which is
// unknown before the fork, then replaces itself with the program. The
// program and its arguments are passed as positional parameters and never
// parsed by the shell.
const trampoline = `LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"`

// Launch starts the provider of e on demand: under an exclusive lock on
// SOCKET.lock it checks that nothing listens yet, creates the listening
// socket (directory 0700, socket 0600, replacing a stale one), and starts
// e.Exec with the socket as descriptor 3 and LISTEN_FDS=1,
// LISTEN_PID=<its pid>, LISTEN_FDNAMES=<name> and HTTPIPC_LAUNCHED=1 in its
// environment, in a new session, with standard input from /dev/null and its
// output appended to SOCKET.log. The provider outlives the caller. Only a
// service-directory entry can name what is started.
//
// The socket's directory is opened with transport.OpenSocketDir, which
// refuses (transport.ErrUnsafePath) a directory another user could write
// to, and a fallback runtime directory (no XDG_RUNTIME_DIR) that is not this
// user's own with mode 0700. SOCKET.lock and SOCKET.log are opened relative
// to that directory, with O_NOFOLLOW: a symbolic link, or a file that is not
// a regular file of this user, is refused with ErrUnsafePath.
func Launch(ctx context.Context, e *servicedir.Entry) error {
	if len(e.Exec) == 0 {
		return fmt.Errorf("%w: %s", ErrNoExec, e.Name)
	}
	base, listenPath, err := paths(e)
	if err != nil {
		return err
	}
	// Every file goes through the checked directory's descriptor, so a
	// path component swapped meanwhile cannot redirect it.
	dir, err := transport.OpenSocketDir(filepath.Dir(base))
	if err != nil {
		return fmt.Errorf("activation: %s: %w", e.Name, err)
	}
	defer dir.Close()
	unlock, err := lock(ctx, dir, filepath.Base(base)+".lock")
	if err != nil {
		return fmt.Errorf("activation: %s: %w", e.Name, err)
	}
	defer unlock()

	if c, err := transport.DialUnix(ctx, listenPath); err == nil {
		c.Close()
		return nil // started by someone else meanwhile
	}
	ln, err := transport.ListenUnix(listenPath)
	if err != nil {
		return fmt.Errorf("activation: %s: %w", e.Name, err)
	}
	f, err := ln.File()
	// This process's copies close now; the socket lives on in the provider.
	ln.UnixListener.Close()
	if err != nil {
		ln.Unlink()
		return fmt.Errorf("activation: %s: %w", e.Name, err)
	}
	defer f.Close()

	logf, err := openPrivate(dir, filepath.Base(base)+".log", unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT)
	if err != nil {
		ln.Unlink()
		return fmt.Errorf("activation: %s: log file: %w", e.Name, err)
	}
	defer logf.Close()
	cmd := exec.Command("/bin/sh", append([]string{"-c", trampoline}, e.Exec...)...)
	cmd.Env = launchEnv(e)
	cmd.ExtraFiles = []*os.File{f}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		ln.Unlink()
		return fmt.Errorf("activation: starting %s (%s): %w", e.Name, e.Exec[0], err)
	}
	// Reap the provider when it exits, so no zombie remains while this
	// process runs.
	go cmd.Wait()
	return nil
}

// paths returns the base path for the lock and log files and the path to
// listen on.
func paths(e *servicedir.Entry) (base, listen string, err error) {
	switch e.Socket.Kind {
	case address.Unix:
		return e.Socket.Path, e.Socket.Path, nil
	case address.Abstract:
		def := servicedir.DefaultSocket(e.Name, nil)
		return strings.TrimSuffix(def.Path, ".sock"), "@" + e.Socket.Path, nil
	}
	return "", "", fmt.Errorf("activation: %s: socket %s is not a unix: address", e.Name, e.Socket)
}

func launchEnv(e *servicedir.Entry) []string {
	env := make([]string, 0, len(os.Environ())+len(e.Env)+3)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, override := e.Env[k]; override {
			continue
		}
		switch k {
		case "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", LaunchedEnv:
			continue
		}
		env = append(env, kv)
	}
	for k, v := range e.Env {
		env = append(env, k+"="+v)
	}
	return append(env, "LISTEN_FDS=1", "LISTEN_FDNAMES="+e.Name, LaunchedEnv+"=1")
}

// openPrivate opens name in dir with flags (O_CREAT makes it with mode
// 0600), never following a symbolic link, and refuses a file that is not a
// regular file of this user.
func openPrivate(dir *os.File, name string, flags int) (*os.File, error) {
	path := filepath.Join(dir.Name(), name)
	fd, err := unix.Openat(int(dir.Fd()), name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NONBLOCK, 0o600)
	if err == unix.ELOOP {
		return nil, fmt.Errorf("%w: %s is a symbolic link; not following it (remove it)", transport.ErrUnsafePath, path)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || int(st.Uid) != os.Geteuid() {
		f.Close()
		return nil, fmt.Errorf("%w: %s is not a regular file of uid %d; remove it", transport.ErrUnsafePath, path, os.Geteuid())
	}
	// O_NONBLOCK kept a FIFO from blocking the open; a regular file needs
	// no more.
	if err := unix.SetNonblock(fd, false); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// lock takes an exclusive flock on name in dir, giving up when ctx ends.
func lock(ctx context.Context, dir *os.File, name string) (unlock func(), err error) {
	path := filepath.Join(dir.Name(), name)
	f, err := openPrivate(dir, name, unix.O_RDWR|unix.O_CREAT)
	if err != nil {
		return nil, fmt.Errorf("lock file: %w", err)
	}
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() {
				unix.Flock(int(f.Fd()), unix.LOCK_UN)
				f.Close()
			}, nil
		}
		if err != unix.EWOULDBLOCK && err != unix.EINTR {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, fmt.Errorf("waiting for the start-up lock %s: %w", path, ctx.Err())
		case <-t.C:
		}
	}
}
