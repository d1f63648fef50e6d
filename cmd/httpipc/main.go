// Command httpipc serves and calls HTTP APIs over local IPC.
//
//	httpipc serve --listen ADDR --upstream URL   expose an HTTP server over IPC
//	httpipc call [-X METHOD] [-H 'Name: value']... [-d DATA|@file] [-i] ADDR PATH
//	httpipc proxy --service ADDR [--print-url]   a localhost base URL for web views and SDKs
//	httpipc auth serve --listen ADDR --db FILE   the authorization app (offline OAuth)
//	httpipc login --service ADDR --client-id ID  a desktop OAuth login over IPC
//	httpipc bench [--json]                       measure httpipc against the alternatives
//	httpipc conformance [--echo PATH] [--slow] [--json] ADDR   check a provider against the protocol
//
// Run "httpipc COMMAND --help" for the options of a command.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/httpipc/httpipc/internal/bench"
)

// command is one subcommand of the CLI.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "expose an existing HTTP server over IPC (reverse proxy)", runServe},
		{"call", "send one HTTP request over IPC, like curl", runCall},
		{"proxy", "run a localhost HTTP server that forwards to a provider over IPC", runProxy},
		{"auth", "the authorization app of the offline OAuth flow (serve, client add)", runAuth},
		{"login", "log in as a desktop OAuth client and print the token and ipc-service", runLogin},
		{"bench", "measure httpipc against raw sockets and net/http, in one run", runBench},
		{"conformance", "check a provider against docs/PROTOCOL.md, case by case", runConformance},
	}
}

func main() {
	bench.MaybeServe()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// usageError is an error in how the command was called; it prints the usage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		mainUsage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(args[1:], stdout, stderr)
		var ue *usageError
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "httpipc %s: %v\nRun 'httpipc %s --help' for usage.\n", c.name, err, c.name)
			return 2
		}
		fmt.Fprintf(stderr, "httpipc %s: %v\n", c.name, err)
		return 1
	}
	fmt.Fprintf(stderr, "httpipc: unknown command %q\n\n", args[0])
	mainUsage(stderr)
	return 2
}

func mainUsage(w io.Writer) {
	fmt.Fprintln(w, "httpipc serves and calls HTTP APIs over local IPC (Unix sockets, named pipes).")
	fmt.Fprintln(w, "\nUsage: httpipc COMMAND [options]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nAn ADDR is an ipc-service address: unix:/path.sock, unix:@abstract, fd:N, pipe:NAME,")
	fmt.Fprintln(w, "or a service name such as org.example.lms looked up in the service directory.")
	fmt.Fprintln(w, "Run 'httpipc COMMAND --help' for the options of a command.")
}

// newFlags returns a flag set whose usage names the command.
func newFlags(name, synopsis, about string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: httpipc %s %s\n\n%s\n\nOptions:\n", name, synopsis, about)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args into fs; a bad flag is a usage error (exit 2).
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return &usageError{err.Error()}
	}
	return err
}

// parseInterleaved parses flags that may come before, between or after the
// positional arguments, and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ", ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
