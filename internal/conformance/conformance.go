// Package conformance checks a provider of the httpipc stream protocol
// against docs/PROTOCOL.md, as h2spec does for HTTP/2.
//
// The provider under test is a black box that serves an unknown API, so
// every case sends requests whose answer the protocol itself decides
// (prefaces, refusals, the responses a provider generates for protocol
// errors) or that only need some response, whose framing and sequencing are
// checked rather than its content. Cases that need a known handler behaviour
// run only when Config.EchoPath names a path whose POST answers with the
// request body; otherwise they are skipped.
//
// Each case talks raw bytes over connections it opens with Config.Dial and
// ends within its time bound: a provider that does not answer fails the case
// instead of hanging the suite.
package conformance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// Dialer opens a new connection to the provider under test.
type Dialer func(ctx context.Context) (net.Conn, error)

// Config describes the provider under test and how far to test it.
type Config struct {
	// Dial opens a connection to the provider. It is required.
	Dial Dialer

	// EchoPath, when set, is a path whose POST answers 200 with the request
	// body as its content. It enables the cases that check content.
	EchoPath string

	// Slow enables the cases that wait for the provider's connection
	// deadlines (section 4, Limits); they take several seconds each.
	Slow bool

	// MaxHeaderBytes is the provider's limit on a request's control data
	// and header section. Zero means the default of section 4, 64 KiB.
	MaxHeaderBytes int

	// PrefaceTimeout and ReadHeaderTimeout are the provider's deadlines for
	// the client preface and for a request head. Zero means the defaults of
	// section 4: 5 and 10 seconds.
	PrefaceTimeout    time.Duration
	ReadHeaderTimeout time.Duration

	// Timeout bounds each case that does not wait for a deadline. Zero
	// means 10 seconds.
	Timeout time.Duration
}

func (c *Config) maxHeader() int {
	if c.MaxHeaderBytes > 0 {
		return c.MaxHeaderBytes
	}
	return 64 << 10
}

func (c *Config) prefaceTimeout() time.Duration {
	if c.PrefaceTimeout > 0 {
		return c.PrefaceTimeout
	}
	return 5 * time.Second
}

func (c *Config) readHeaderTimeout() time.Duration {
	if c.ReadHeaderTimeout > 0 {
		return c.ReadHeaderTimeout
	}
	return 10 * time.Second
}

func (c *Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return 10 * time.Second
}

// deadlineSlack is how much later than its deadline a provider may close a
// connection and still pass.
const deadlineSlack = 3 * time.Second

// Case is one check of the suite.
type Case struct {
	// Section names the part of docs/PROTOCOL.md the case checks: "4",
	// "5 rule 3", "6 Limits".
	Section string
	// Name identifies the case; it does not change between versions.
	Name string
	// Description is one line that quotes or paraphrases the requirement.
	Description string
	// Echo says the case needs Config.EchoPath.
	Echo bool
	// Slow says the case waits for a deadline of the provider and runs only
	// with Config.Slow.
	Slow bool
	// Run performs the case: nil is a pass, an error from Skip a skip, and
	// any other error a failure that says what went wrong.
	Run func(t *T) error
}

// Status is the outcome of a case.
type Status int

// The outcomes of a case.
const (
	Pass Status = iota
	Fail
	Skipped
)

// String is the word a report prints for s: PASS, FAIL or SKIP.
func (s Status) String() string {
	switch s {
	case Pass:
		return "PASS"
	case Fail:
		return "FAIL"
	case Skipped:
		return "SKIP"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// MarshalText encodes s as PASS, FAIL or SKIP.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes PASS, FAIL or SKIP.
func (s *Status) UnmarshalText(b []byte) error {
	for _, v := range []Status{Pass, Fail, Skipped} {
		if string(b) == v.String() {
			*s = v
			return nil
		}
	}
	return fmt.Errorf("conformance: unknown status %q", b)
}

// Result is the outcome of one case.
type Result struct {
	Section     string        `json:"section"`
	Name        string        `json:"name"`
	Description string        `json:"description"`
	Status      Status        `json:"status"`
	Detail      string        `json:"detail,omitempty"` // why it failed or was skipped, or a note
	Duration    time.Duration `json:"duration_ns"`
}

// Summary counts the outcomes of a run.
type Summary struct {
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
}

// skipError is returned by a case that does not apply to the provider.
type skipError struct{ reason string }

func (e *skipError) Error() string { return e.reason }

// Skip returns the error a case returns when it does not apply.
func Skip(format string, args ...any) error {
	return &skipError{fmt.Sprintf(format, args...)}
}

// T is what a running case uses: the configuration, the case's context and
// the connections it opened, which are closed when the case ends.
type T struct {
	Config *Config
	ctx    context.Context
	limit  time.Duration

	mu    sync.Mutex
	conns []net.Conn
	note  string
}

// Context returns the case's context, which ends at its time bound.
func (t *T) Context() context.Context { return t.ctx }

// Note records a remark shown with a passing result.
func (t *T) Note(format string, args ...any) {
	t.mu.Lock()
	t.note = fmt.Sprintf(format, args...)
	t.mu.Unlock()
}

// DialRaw opens a connection to the provider whose reads and writes end at
// the case's time bound; it is closed when the case ends.
func (t *T) DialRaw() (net.Conn, error) {
	nc, err := t.Config.Dial(t.ctx)
	if err != nil {
		return nil, fmt.Errorf("dialing the provider: %w", err)
	}
	if d, ok := t.ctx.Deadline(); ok {
		_ = nc.SetDeadline(d)
	}
	t.mu.Lock()
	t.conns = append(t.conns, nc)
	t.mu.Unlock()
	return nc, nil
}

func (t *T) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.conns {
		c.Close()
	}
	t.conns = nil
}

// timeoutError turns a deadline error into one that says how long the case
// waited.
func (t *T) timeoutError(err error, what string) error {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, net.ErrClosed) && t.ctx.Err() != nil {
		return fmt.Errorf("no %s within %v", what, t.limit)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Run runs cases against the provider cfg describes, one after another,
// calling report with each result, and returns the counts.
func Run(ctx context.Context, cfg Config, cases []Case, report func(Result)) Summary {
	var sum Summary
	for _, c := range cases {
		r := runCase(ctx, &cfg, c)
		switch r.Status {
		case Pass:
			sum.Passed++
		case Fail:
			sum.Failed++
		default:
			sum.Skipped++
		}
		if report != nil {
			report(r)
		}
	}
	return sum
}

func runCase(ctx context.Context, cfg *Config, c Case) Result {
	r := Result{Section: c.Section, Name: c.Name, Description: c.Description}
	switch {
	case c.Echo && cfg.EchoPath == "":
		r.Status, r.Detail = Skipped, "needs a handler that echoes POST content (--echo PATH)"
		return r
	case c.Slow && !cfg.Slow:
		r.Status, r.Detail = Skipped, "waits for a provider deadline (--slow)"
		return r
	}
	limit := cfg.timeout()
	if c.Slow {
		limit = max(limit, cfg.readHeaderTimeout()+2*deadlineSlack)
	}
	cctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	t := &T{Config: cfg, ctx: cctx, limit: limit}
	stop := context.AfterFunc(cctx, t.closeAll)
	defer stop()
	defer t.closeAll()

	start := time.Now()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- fmt.Errorf("case panicked: %v", v)
			}
		}()
		done <- c.Run(t)
	}()
	var err error
	select {
	case err = <-done:
	case <-cctx.Done():
		// The connections are closed now, so the case returns soon.
		grace := time.NewTimer(time.Second)
		select {
		case err = <-done:
		case <-grace.C:
			err = fmt.Errorf("did not finish within %v", limit)
		}
		grace.Stop()
	}
	r.Duration = time.Since(start)
	var se *skipError
	switch {
	case err == nil:
		r.Status = Pass
		t.mu.Lock()
		r.Detail = t.note
		t.mu.Unlock()
	case errors.As(err, &se):
		r.Status, r.Detail = Skipped, se.reason
	default:
		r.Status, r.Detail = Fail, err.Error()
		if ctx.Err() != nil {
			r.Detail = "interrupted: " + r.Detail
		}
	}
	return r
}
