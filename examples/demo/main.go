// Command demo runs the httpipc recipe end to end on this machine, on
// embedded defaults: an LMS app (examples/lms) started on demand over IPC
// and exiting when idle, its online server, and a math app
// (examples/mathapp) that logs in through the LMS (OAuth with PKCE; the
// redirect carries ipc-service), reads the learner's classes and records a
// lesson offline, does the same online with the same code, and waits until
// the LMS has synced the offline records. Each step is printed; it exits 0
// when all worked and leaves no process behind.
//
//	go run ./examples/demo [--state DIR] [--keep]
//
// --keep keeps it running, with the HTML5 lesson page to open in a browser.
// The demo starts the LMS app and its online server as this same program
// ("demo lms ..." and "demo online ...").
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/oauth2"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/address"
	"github.com/httpipc/httpipc/examples/lms"
	"github.com/httpipc/httpipc/examples/mathapp"
	"github.com/httpipc/httpipc/oauth"
	"github.com/httpipc/httpipc/oauth/authclient"
	"github.com/httpipc/httpipc/oauth/authserver"
	"github.com/httpipc/httpipc/proxy"
	"github.com/httpipc/httpipc/servicedir"
)

const (
	demoService = "org.httpipc.demo.lms"
	demoIssuer  = "https://lms.example"
	demoLearner = "u-learner-1"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run runs the demo, or one of its apps, until it is done or the process
// gets SIGINT or SIGTERM, and returns the exit code: 0 when all worked, 1
// when a step failed, 2 for a usage error.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runContext(ctx, args, stdout, stderr)
}

// runContext is run, stopping when ctx ends (which is how --keep ends).
func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var err error
	switch {
	case len(args) > 0 && args[0] == "lms": // the LMS app, as the service entry starts it
		err = runLMS(ctx, args[1:], stderr, false)
	case len(args) > 0 && args[0] == "online": // the LMS's online server
		err = runLMS(ctx, args[1:], stderr, true)
	default:
		err = runDemo(ctx, args, stdout, stderr)
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintln(stderr, "demo:", err)
	return 1
}

var errUsage = errors.New("usage")

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: go run ./examples/demo [--state DIR] [--keep]\n\n"+
			"Runs the whole recipe on this machine: an LMS app (started on demand over IPC, exiting when\n"+
			"idle) with its online server, and a math app that logs in through the LMS (OAuth with\n"+
			"PKCE; the redirect carries ipc-service), reads the learner's classes and records a\n"+
			"lesson offline, then does the same online with the same code, and waits until the LMS\n"+
			"has synced the offline records. Every step is printed; exits 0 when all worked.\n\nOptions:\n")
		fs.PrintDefaults()
	}
	state := fs.String("state", "", "directory for the demo's state (default: a new temporary one, removed at exit)")
	keep := fs.Bool("keep", false, "keep running and print the lesson page's URL to open in a browser")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage // the flag package has printed why
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "demo: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	d := &demo{out: stdout, keep: *keep}
	err := d.run(ctx, *state)
	d.cleanup()
	if err != nil {
		fmt.Fprintf(stdout, "\nFAILED at step %d (%s): %v\n", d.step, d.stepName, err)
		return errDemoFailed
	}
	fmt.Fprintln(stdout, "\nAll steps worked.")
	return nil
}

var errDemoFailed = errors.New("the demo failed (see above)")

type demo struct {
	out      io.Writer
	keep     bool
	step     int
	stepName string
	cleanups []func()
}

func (d *demo) begin(name string) {
	d.step++
	d.stepName = name
	fmt.Fprintf(d.out, "\n%d. %s\n", d.step, name)
}

func (d *demo) say(format string, args ...any) { fmt.Fprintf(d.out, "   "+format+"\n", args...) }

func (d *demo) cleanup() {
	for i := len(d.cleanups) - 1; i >= 0; i-- {
		d.cleanups[i]()
	}
}

type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line != "" {
			io.WriteString(p.w, p.prefix+line)
		}
	}
	return len(b), nil
}

func (d *demo) run(ctx context.Context, state string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	d.begin("State")
	if state == "" {
		state, err = os.MkdirTemp("", "httpipc-demo-")
		if err != nil {
			return err
		}
		if !d.keep {
			d.cleanups = append(d.cleanups, func() { os.RemoveAll(state) })
		}
	}
	if state, err = filepath.Abs(state); err != nil {
		return err
	}
	if err := os.MkdirAll(state, 0o700); err != nil {
		return err
	}
	d.say("everything lives in %s", state)
	token := make([]byte, 16)
	rand.Read(token)
	syncToken := hex.EncodeToString(token)

	d.begin("The LMS's online server (the same LMS code, online mode, over TCP)")
	online := exec.CommandContext(ctx, exe, "online", "--state", state, "--sync-token", syncToken)
	online.Stderr = io.Discard
	outp, err := online.StdoutPipe()
	if err != nil {
		return err
	}
	if err := online.Start(); err != nil {
		return err
	}
	d.cleanups = append(d.cleanups, func() {
		online.Process.Signal(syscall.SIGTERM)
		online.Wait()
	})
	line, err := bufio.NewReader(outp).ReadString('\n')
	if err != nil {
		return fmt.Errorf("the online server did not start: %w", err)
	}
	upstream := "http://" + strings.TrimSpace(line)
	d.say("online LMS at %s (pid %d)", upstream, online.Process.Pid)

	d.begin("Register the LMS app as an IPC service (nothing is running yet)")
	services := filepath.Join(state, "services")
	dir := servicedir.At(services)
	sock := filepath.Join(state, "lms.sock")
	entry := &servicedir.Entry{
		Name:   demoService,
		Socket: address.Address{Kind: address.Unix, Path: sock},
		Exec:   []string{exe, "lms", "--state", state, "--upstream", upstream, "--sync-token", syncToken, "--idle", "3s"},
	}
	if err := dir.Install(services, entry); err != nil {
		return err
	}
	d.say("%s -> %s, started on demand by its first caller", demoService, sock)

	d.begin("The math app logs in through the LMS app (OAuth 2.0 for native apps, PKCE S256)")
	// The browser reaches the LMS's consent page through the math app's
	// localhost proxy; that first request starts the LMS app.
	lmsTransport := &httpipc.Transport{Service: demoService, Directory: dir, Logger: quietLog()}
	px := &proxy.Proxy{Transport: lmsTransport, Logger: quietLog()}
	pln, err := proxy.Listen("127.0.0.1:0")
	if err != nil {
		return err
	}
	go px.Serve(pln)
	d.cleanups = append(d.cleanups, func() { px.Close() })
	base := px.BaseURL(pln.Addr())
	app := &mathapp.App{
		Auth: &authclient.Config{
			OAuth2: oauth2.Config{ClientID: mathapp.ClientID, Scopes: mathapp.Scopes, RedirectURL: "http://127.0.0.1/callback",
				Endpoint: oauth2.Endpoint{AuthURL: base + oauth.AuthorizePath, TokenURL: demoIssuer + oauth.TokenPath, AuthStyle: oauth2.AuthStyleInParams}},
			Directory: dir,
		},
		API:     demoIssuer,
		Learner: demoLearner,
		Log:     prefixWriter{d.out, "   "},
	}
	if err := app.Login(ctx, mathapp.Consent(prefixWriter{d.out, "   "})); err != nil {
		return err
	}
	pid, err := lmsPID(state)
	if err != nil {
		return err
	}
	d.say("the LMS app was started on demand: pid %d", pid)
	d.cleanups = append(d.cleanups, func() {
		// It exits by itself when idle; never leave it behind, nor the
		// one a later call started (with --keep, after it exited idle).
		pids := []int{pid}
		if last, err := lmsPID(state); err == nil && last != pid {
			pids = append(pids, last)
		}
		for _, pid := range pids {
			for wait := time.Now().Add(5 * time.Second); alive(pid) && time.Now().Before(wait); {
				time.Sleep(50 * time.Millisecond)
			}
			if alive(pid) {
				kill(pid)
			}
		}
	})

	d.begin("Offline: the math app calls the LMS's REST APIs over IPC (OneRoster, xAPI)")
	rep, err := app.RunLesson(ctx)
	if err != nil {
		return err
	}

	d.begin("Online: the same math app code against the online server (no ipc-service)")
	onlineApp := &mathapp.App{
		Auth: &authclient.Config{
			OAuth2: oauth2.Config{ClientID: mathapp.ClientID, Scopes: mathapp.Scopes, RedirectURL: "http://127.0.0.1/callback",
				Endpoint: oauth2.Endpoint{AuthURL: upstream + oauth.AuthorizePath, TokenURL: upstream + oauth.TokenPath, AuthStyle: oauth2.AuthStyleInParams}},
		},
		API:     upstream,
		Learner: demoLearner,
		Log:     prefixWriter{d.out, "   "},
	}
	if err := onlineApp.Login(ctx, mathapp.Consent(prefixWriter{d.out, "   "})); err != nil {
		return err
	}
	if _, err := onlineApp.RunLesson(ctx); err != nil {
		return err
	}

	d.begin("Sync: the LMS app pushes what the math app recorded offline to the online server")
	api := onlineApp.Session.Client(ctx)
	deadline := time.Now().Add(time.Minute)
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", upstream+lms.StatementsPath+"?statementId="+rep.StatementID, nil)
		req.Header.Set("X-Experience-API-Version", lms.XAPIVersion)
		resp, err := api.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("statement %s did not reach the online server within a minute", rep.StatementID)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	d.say("statement %s and result %s are on the online server", rep.StatementID, rep.ResultID)

	if d.keep {
		d.begin("The HTML5 lesson, through the math app's localhost proxy")
		lln, err := proxy.Listen("127.0.0.1:0")
		if err != nil {
			return err
		}
		lpx := &proxy.Proxy{Transport: lmsTransport, Logger: quietLog()}
		u, err := app.ServeLesson(ctx, lln, lpx)
		if err != nil {
			return err
		}
		d.say("open %s in a browser; it works once, for one browser (Ctrl-C to stop; state is kept in %s)", u, state)
		// A cmi5 launch of the lesson: endpoint and fetch through the proxy.
		launch := lms.Cmi5LaunchRequest{
			AU:       lms.AU{URL: u, ActivityID: "https://math.example/au/fractions-1", MoveOn: "Completed"},
			CourseID: "https://math.example/course/fractions",
			Actor:    map[string]any{"account": map[string]any{"homePage": demoIssuer, "name": "learner"}},
			Base:     base, IPCService: demoService,
		}
		b, _ := json.Marshal(launch)
		req, _ := http.NewRequestWithContext(ctx, "POST", app.API+lms.Cmi5LaunchPath, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		resp, err := app.Session.Client(ctx).Do(req)
		if err != nil {
			return err
		}
		var out struct{ URL string }
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return fmt.Errorf("cmi5 launch: %d %v", resp.StatusCode, err)
		}
		fmt.Fprintf(d.out, "cmi5 launch: %s\n", out.URL)
		<-ctx.Done()
		return nil
	}

	d.begin("The LMS app exits when idle")
	lmsTransport.CloseIdleConnections()
	px.Close()
	deadline = time.Now().Add(30 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			kill(pid)
			return fmt.Errorf("the LMS app (pid %d) did not exit when idle", pid)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	d.say("pid %d exited after 3s without requests; the next call would start it again", pid)
	return nil
}

// pidFile is where the demo's LMS app writes its process id when it
// starts, and removes it when it exits, so that the demo can show it
// starting on demand and exiting, and stop the last one started.
func pidFile(state string) string { return filepath.Join(state, "lms.pid") }

// lmsPID reads the process id of the LMS app last started.
func lmsPID(state string) (int, error) {
	b, err := os.ReadFile(pidFile(state))
	if err != nil {
		return 0, fmt.Errorf("the LMS app's process id: %w", err)
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// runLMS runs the demo's LMS app (device, over IPC) or its online server.
func runLMS(ctx context.Context, args []string, stderr io.Writer, online bool) error {
	fs := flag.NewFlagSet("demo lms", flag.ContinueOnError)
	fs.SetOutput(stderr)
	state := fs.String("state", "", "state directory")
	upstream := fs.String("upstream", "", "online server URL")
	syncToken := fs.String("sync-token", "", "token for the online server")
	idle := fs.Duration("idle", 0, "exit when idle this long")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	cfg := lms.AppConfig{
		State:     *state,
		Online:    online,
		Upstream:  *upstream,
		SyncToken: *syncToken,
		Learner:   demoLearner,
		Idle:      *idle,
		Clients: []authserver.Client{{ID: mathapp.ClientID, Name: "Math Lesson",
			RedirectURIs: []string{"http://127.0.0.1/callback"}, Scopes: mathapp.Scopes}},
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if online {
		cfg.Listen = "127.0.0.1:0"
		cfg.Ready = func(addr string) {
			fmt.Println(addr)
		}
	} else {
		cfg.Listen = demoService
		cfg.Issuer = demoIssuer
		cfg.IPCService = demoService
		if err := os.MkdirAll(*state, 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(pidFile(*state), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
			return err
		}
		// An LMS app that exits takes its process id away, so that the
		// file never names another process.
		defer func() {
			if pid, err := lmsPID(*state); err == nil && pid == os.Getpid() {
				os.Remove(pidFile(*state))
			}
		}()
	}
	return lms.Serve(ctx, cfg)
}
