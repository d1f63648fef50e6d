package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"time"

	"github.com/httpipc/httpipc/address"
	"github.com/httpipc/httpipc/internal/conformance"
	"github.com/httpipc/httpipc/servicedir"
	"github.com/httpipc/httpipc/transport"
)

func runConformance(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("conformance", "[--echo PATH] [--slow] [--json] ADDR",
		"Runs the cases of docs/PROTOCOL.md against the provider at ADDR (unix:PATH, unix:@NAME,\n"+
			"pipe:NAME, or a service name; the provider is not started on demand) and prints, for each\n"+
			"case, PASS, FAIL or SKIP, its section of PROTOCOL.md, its name and requirement, and why it\n"+
			"failed or was skipped; then a line 'N passed, N failed, N skipped'. The provider serves an\n"+
			"unknown API: the cases rely only on answers the protocol decides, except those that need\n"+
			"--echo. Each case fails after --timeout instead of hanging. The exit status is 0 when no\n"+
			"case failed, 1 when one did, 2 for a usage error.", stderr)
	echo := fs.String("echo", "", "a `PATH` whose POST answers 200 with the request body; enables the content cases")
	slow := fs.Bool("slow", false, "also run the cases that wait for the provider's connection deadlines (seconds each)")
	asJSON := fs.Bool("json", false, "print one JSON object (cases, passed, failed, skipped) instead of text")
	maxHeader := fs.Int("max-header-bytes", 64<<10, "the provider's limit on a request's control data and header section")
	prefaceTimeout := fs.Duration("preface-timeout", 5*time.Second, "the provider's deadline for the client preface (--slow cases)")
	headTimeout := fs.Duration("read-header-timeout", 10*time.Second, "the provider's deadline for a request head (--slow cases)")
	timeout := fs.Duration("timeout", 10*time.Second, "how long a case may take")
	runRE := fs.String("run", "", "run only the cases whose name or section matches this `REGEXP`")
	list := fs.Bool("list", false, "list the cases without running them")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	var match *regexp.Regexp
	if *runRE != "" {
		if match, err = regexp.Compile(*runRE); err != nil {
			return usagef("--run: %v", err)
		}
	}
	cases := selectCases(conformance.Cases(), match)
	if *list {
		for _, c := range cases {
			fmt.Fprintf(stdout, "%-15s %-31s %s\n", c.Section, c.Name, c.Description)
		}
		return nil
	}
	if len(pos) != 1 {
		return usagef("want one ADDR, got %d arguments", len(pos))
	}
	if *echo != "" && !strings.HasPrefix(*echo, "/") {
		return usagef("--echo %q must start with /", *echo)
	}
	if *maxHeader <= 0 || *timeout <= 0 || *prefaceTimeout <= 0 || *headTimeout <= 0 {
		return usagef("--max-header-bytes and the durations must be positive")
	}
	dial, err := conformanceDialer(pos[0])
	if err != nil {
		return err
	}
	cfg := conformance.Config{
		Dial: dial, EchoPath: *echo, Slow: *slow, MaxHeaderBytes: *maxHeader,
		PrefaceTimeout: *prefaceTimeout, ReadHeaderTimeout: *headTimeout, Timeout: *timeout,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var results []conformance.Result
	sum := conformance.Run(ctx, cfg, cases, func(r conformance.Result) {
		results = append(results, r)
		if !*asJSON {
			printResult(stdout, r)
		}
	})
	if *asJSON {
		out := struct {
			Address string               `json:"address"`
			Cases   []conformance.Result `json:"cases"`
			conformance.Summary
		}{pos[0], results, sum}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "%d passed, %d failed, %d skipped\n", sum.Passed, sum.Failed, sum.Skipped)
	}
	if sum.Failed > 0 {
		return fmt.Errorf("%d of %d cases failed", sum.Failed, len(cases))
	}
	return nil
}

func selectCases(all []conformance.Case, match *regexp.Regexp) []conformance.Case {
	if match == nil {
		return all
	}
	var cases []conformance.Case
	for _, c := range all {
		if match.MatchString(c.Name) || match.MatchString(c.Section) {
			cases = append(cases, c)
		}
	}
	return cases
}

// printResult writes one case: status, section, name and requirement on one
// line, then the reason or note, indented, on the following lines.
func printResult(w io.Writer, r conformance.Result) {
	fmt.Fprintf(w, "%s  %-15s %s: %s\n", r.Status, r.Section, r.Name, r.Description)
	if r.Detail != "" {
		for _, line := range strings.Split(r.Detail, "\n") {
			fmt.Fprintf(w, "      %s\n", line)
		}
	}
}

// conformanceDialer returns a dialer for addr: every case opens its own
// connections, so the address must be one that can be dialled again.
func conformanceDialer(addr string) (conformance.Dialer, error) {
	a, err := address.Parse(addr)
	if err != nil {
		return nil, err
	}
	switch a.Kind {
	case address.Name:
		e, err := servicedir.Directory{}.Lookup(a.Name)
		if err != nil {
			return nil, err
		}
		a = e.Socket
	case address.FD:
		return nil, usagef("%s is a single connection; the cases need an address they can dial many times", addr)
	case address.DBus:
		return nil, usagef("%s: D-Bus providers are not supported; test the socket they serve instead", addr)
	}
	switch a.Kind {
	case address.Unix:
		return func(ctx context.Context) (net.Conn, error) { return transport.DialUnix(ctx, a.Path) }, nil
	case address.Abstract:
		return func(ctx context.Context) (net.Conn, error) { return transport.DialUnix(ctx, "@"+a.Path) }, nil
	case address.Pipe:
		return func(ctx context.Context) (net.Conn, error) { return transport.DialPipe(ctx, a.Path) }, nil
	}
	return nil, fmt.Errorf("cannot dial %s", addr)
}
