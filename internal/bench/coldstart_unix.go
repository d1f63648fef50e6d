//go:build unix

package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/dbusipc"
	"github.com/httpipc/httpipc/internal/testbus"
	"github.com/httpipc/httpipc/message"
	"github.com/httpipc/httpipc/servicedir"
)

// coldEnv makes this executable a cold-start provider: "exec:PATH" listens
// on PATH and prints a line once ready, "socket" serves the listening
// socket it was started with (LISTEN_FDS), "dbus:NAME" owns NAME on the bus
// that started it.
const coldEnv = "HTTPIPC_BENCH_COLD"

// coldName is the service (and bus) name of the cold-start provider.
const coldName = "org.httpipc.BenchCold"

// coldLifetime bounds how long a cold-start provider runs: the benchmark
// kills each one after its first response, and one left behind by an
// interrupted benchmark goes away by itself.
const coldLifetime = 2 * time.Minute

// serveCold runs the cold-start provider of the given mode.
func serveCold(mode string) error {
	time.AfterFunc(coldLifetime, func() { os.Exit(0) })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	kind, arg, _ := strings.Cut(mode, ":")
	switch kind {
	case "exec":
		ln, err := httpipc.Listen("unix:" + arg)
		if err != nil {
			return err
		}
		fmt.Println("ready")
		return (&httpipc.Server{Handler: Handler(), Logger: quiet}).Serve(ln)
	case "socket":
		if os.Getenv("LISTEN_FDS") == "" {
			return errors.New("started without a listening socket (LISTEN_FDS)")
		}
		// Listen takes the inherited socket; the address is never used.
		ln, err := httpipc.Listen("unix:/nonexistent/bench-cold.sock")
		if err != nil {
			return err
		}
		return (&httpipc.Server{Handler: Handler(), Logger: quiet}).Serve(ln)
	case "dbus":
		conn, err := dbus.Connect(os.Getenv("DBUS_STARTER_ADDRESS"))
		if err != nil {
			return err
		}
		p := &dbusipc.Provider{
			Messages: &message.Server{Handler: Handler(), Logger: quiet},
			Streams:  &httpipc.Server{Handler: Handler(), Logger: quiet},
		}
		return p.Serve(context.Background(), conn, arg)
	}
	return fmt.Errorf("unknown cold-start mode %q", mode)
}

// coldContender is one way to start the provider. Each start begins with
// no provider running and no socket left by the previous one.
type coldContender struct {
	name string
	// prepare readies a start, untimed: what a service manager holds
	// before any client comes (nil when nothing).
	prepare func(ctx context.Context) error
	// first sends the first request, which starts the provider, and
	// returns the provider's process id once the response is read: the
	// timed part.
	first func(ctx context.Context) (int, error)
	// reset stops the provider and removes what it leaves, untimed.
	reset func(pid int) error
	// close releases what the contender holds for all starts.
	close func()
}

// coldStart measures opt.ColdStarts starts of each contender, which take
// turns, after one untimed start each.
func coldStart(ctx context.Context, opt Options, note func(string, ...any)) ([]Result, error) {
	argv := opt.Provider
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		argv = []string{exe}
	}
	dir, err := os.MkdirTemp("", "hbc")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	contenders := []*coldContender{coldExec(argv, dir)}
	launcher, err := coldLaunch(argv, dir)
	if err != nil {
		return nil, err
	}
	contenders = append(contenders, launcher)
	if ssa, err := exec.LookPath("systemd-socket-activate"); err == nil {
		contenders = append(contenders, coldSystemd(ssa, argv, dir))
	} else {
		note("%s/%s left out: systemd-socket-activate not installed (Debian package systemd)", ColdStart, ColdSystemd)
	}
	switch c, err := coldBus(argv); {
	case errors.Is(err, testbus.ErrNoDaemon):
		note("%s/%s left out: %v", ColdStart, ColdDBus, err)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", ColdDBus, err)
	default:
		contenders = append(contenders, c)
	}
	defer func() {
		for _, c := range contenders {
			if c.close != nil {
				c.close()
			}
		}
	}()

	times := make([][]float64, len(contenders))
	for i := 0; i <= opt.ColdStarts; i++ {
		for j, c := range contenders {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if c.prepare != nil {
				if err := c.prepare(ctx); err != nil {
					return nil, fmt.Errorf("%s: %w", c.name, err)
				}
			}
			t0 := time.Now()
			pid, err := c.first(ctx)
			el := time.Since(t0)
			if rerr := c.reset(pid); err == nil {
				err = rerr
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.name, err)
			}
			if i > 0 { // the first start of each warms the file cache
				times[j] = append(times[j], float64(el.Nanoseconds()))
			}
		}
	}
	results := make([]Result, len(contenders))
	for j, c := range contenders {
		results[j] = Result{Scenario: ColdStart, Contender: c.name, Ops: len(times[j]),
			NsPerOp: spreadOf(times[j]).Median, StartsNs: times[j]}
	}
	return results, nil
}

// getPID asks a provider for its process id with a client of its own, and
// closes the client's connections.
func getPID(ctx context.Context, rt http.RoundTripper) (int, error) {
	c := &http.Client{Transport: rt}
	defer c.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://bench/pid", nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("/pid: status %d: %s", resp.StatusCode, b)
	}
	return strconv.Atoi(string(b))
}

func quietTransport(service string) *httpipc.Transport {
	return &httpipc.Transport{Service: service, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// coldExec is the baseline: run the provider, wait for its ready line,
// send the request.
func coldExec(argv []string, dir string) *coldContender {
	sock := filepath.Join(dir, "exec.sock")
	var cmd *exec.Cmd
	return &coldContender{
		name: ColdExec,
		first: func(ctx context.Context) (int, error) {
			cmd = exec.Command(argv[0], argv[1:]...)
			cmd.Env = append(os.Environ(), coldEnv+"=exec:"+sock)
			cmd.Stderr = os.Stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				return 0, err
			}
			if err := cmd.Start(); err != nil {
				cmd = nil
				return 0, err
			}
			if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
				return 0, fmt.Errorf("the provider did not say it was ready: %w", err)
			}
			return getPID(ctx, quietTransport("unix:"+sock))
		},
		reset: func(int) error {
			if cmd != nil {
				cmd.Process.Kill()
				cmd.Wait()
				cmd = nil
			}
			return removeSocket(sock)
		},
	}
}

// coldLaunch is httpipc's client-side activation: a service entry whose
// exec is the provider, and a client of that service name.
func coldLaunch(argv []string, dir string) (*coldContender, error) {
	svcDir := filepath.Join(dir, "services")
	if err := os.Mkdir(svcDir, 0o700); err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "launch.sock")
	entry, err := json.Marshal(map[string]any{
		"name":   coldName,
		"socket": "unix:" + sock,
		"exec":   argv,
		"env":    map[string]string{coldEnv: "socket"},
	})
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(svcDir, coldName+".json"), entry, 0o600); err != nil {
		return nil, err
	}
	var pids startedPIDs
	return &coldContender{
		name: ColdLauncher,
		prepare: func(context.Context) error {
			if _, err := os.Lstat(sock); err == nil {
				return fmt.Errorf("%s is left from a previous start", sock)
			}
			return nil
		},
		first: func(ctx context.Context) (int, error) {
			t := quietTransport(coldName)
			t.Directory = servicedir.At(svcDir)
			return pids.add(getPID(ctx, t))
		},
		reset: func(pid int) error {
			if err := pids.stop(pid); err != nil {
				return err
			}
			return removeSocket(sock)
		},
		close: func() {
			pids.stopAll()
		},
	}, nil
}

// coldSystemd is systemd-socket-activate: it listens, and runs the
// provider on the first connection. Its start is untimed, as a service
// manager holds its sockets before any client comes.
func coldSystemd(ssa string, argv []string, dir string) *coldContender {
	sock := filepath.Join(dir, "ssa.sock")
	var cmd *exec.Cmd
	var logged chan string // what it printed, once it exits
	stop := func() {
		// systemd-socket-activate replaced itself with the provider.
		if cmd != nil {
			cmd.Process.Kill()
			cmd.Wait()
			cmd = nil
		}
	}
	return &coldContender{
		name: ColdSystemd,
		prepare: func(ctx context.Context) error {
			cmd = exec.Command(ssa, append([]string{"-l", sock, "-E", coldEnv + "=socket"}, argv...)...)
			errPipe, err := cmd.StderrPipe()
			if err != nil {
				return err
			}
			if err := cmd.Start(); err != nil {
				cmd = nil
				return err
			}
			// The socket file exists from bind on, but connections are
			// refused until listen: wait for the line it prints then.
			listening := make(chan bool, 1)
			lg := make(chan string, 1)
			logged = lg
			go func() {
				var all strings.Builder
				sc := bufio.NewScanner(errPipe)
				for sc.Scan() {
					all.WriteString(sc.Text() + "\n")
					if strings.HasPrefix(sc.Text(), "Listening on ") {
						listening <- true
					}
				}
				close(listening)
				lg <- all.String()
			}()
			select {
			case ok := <-listening:
				if ok {
					return nil
				}
				stop()
				return fmt.Errorf("systemd-socket-activate exited: %s", <-logged)
			case <-time.After(10 * time.Second):
				stop()
				return fmt.Errorf("systemd-socket-activate did not listen: %s", <-logged)
			case <-ctx.Done():
				stop()
				return ctx.Err()
			}
		},
		first: func(ctx context.Context) (int, error) {
			return getPID(ctx, quietTransport("unix:"+sock))
		},
		reset: func(int) error {
			stop()
			return removeSocket(sock)
		},
		close: stop,
	}
}

// coldBus is D-Bus activation: a private dbus-daemon whose services
// directory names the provider, and a message-mode call to that name on a
// connection opened beforehand.
func coldBus(argv []string) (*coldContender, error) {
	bus, err := testbus.Launch(map[string]string{coldName: strings.Join(argv, " ")}, coldEnv+"=dbus:"+coldName)
	if err != nil {
		return nil, err
	}
	conn, err := dbus.Connect(bus.Addr)
	if err != nil {
		bus.Close()
		return nil, err
	}
	hasOwner := func() bool {
		var has bool
		err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, coldName).Store(&has)
		return err != nil || has
	}
	var pids startedPIDs
	return &coldContender{
		name: ColdDBus,
		prepare: func(context.Context) error {
			if hasOwner() {
				return fmt.Errorf("%s is owned before the start", coldName)
			}
			return nil
		},
		first: func(ctx context.Context) (int, error) {
			return pids.add(getPID(ctx, &message.Transport{Channel: &dbusipc.Client{Conn: conn, Name: coldName}}))
		},
		reset: func(pid int) error {
			if err := pids.stop(pid); err != nil {
				return err
			}
			return waitFor(context.Background(), func() bool { return !hasOwner() },
				func() error { return fmt.Errorf("%s still owned after its provider exited", coldName) })
		},
		close: func() {
			pids.stopAll()
			conn.Close()
			bus.Close()
		},
	}, nil
}

// killWait kills a provider started for a cold start and waits until the
// process is gone.
func killWait(pid int) error {
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return fmt.Errorf("stopping the provider: %w", err)
	}
	return waitFor(context.Background(), func() bool {
		return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
	}, func() error { return fmt.Errorf("provider %d still there after SIGKILL", pid) })
}

func removeSocket(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// waitFor polls cond until it holds, for up to 10 seconds; then it
// returns timeout().
func waitFor(ctx context.Context, cond func() bool, timeout func() error) error {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return timeout()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// startedPIDs are the providers a cold-start contender started that are not
// known to be gone.
type startedPIDs map[int]bool

// add records the pid of a provider that answered.
func (p *startedPIDs) add(pid int, err error) (int, error) {
	if err == nil {
		if *p == nil {
			*p = startedPIDs{}
		}
		(*p)[pid] = true
	}
	return pid, err
}

// stop kills the provider pid, if any, and waits for it to go.
func (p startedPIDs) stop(pid int) error {
	if pid <= 0 {
		return nil
	}
	if err := killWait(pid); err != nil {
		return err
	}
	delete(p, pid)
	return nil
}

// stopAll kills every provider left.
func (p startedPIDs) stopAll() {
	for pid := range p {
		killWait(pid)
	}
}
