package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"

	"github.com/httpipc/httpipc"
	"github.com/httpipc/httpipc/address"
)

func runCall(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("call", "[-X METHOD] [-H 'Name: value']... [-d DATA|@FILE|@-] [-i] [-L] ADDR PATH",
		"Sends one request to the provider at ADDR and writes the response body to standard output,\n"+
			"like curl. PATH is the path and query, e.g. /users/1?fields=name. The exit status is 0 when\n"+
			"a response arrived (whatever its status; see --fail), 1 on a transport error. A redirect\n"+
			"(3xx) is the response, as in curl, unless -L follows it (within the provider only).", stderr)
	method := fs.String("X", "", "request method (default GET, or POST with -d)")
	var headers multiFlag
	fs.Var(&headers, "H", "request header 'Name: value' (repeatable)")
	data := fs.String("d", "", "request body: DATA, @FILE to read a file, @- for standard input")
	include := fs.Bool("i", false, "print the status line and response headers before the body")
	fail := fs.Bool("fail", false, "exit with status 22 when the response status is 400 or more")
	location := fs.Bool("L", false, "follow redirects to other paths of the same provider (at most 10)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("want ADDR and PATH, got %d arguments", len(pos))
	}
	addr, path := pos[0], pos[1]
	if !strings.HasPrefix(path, "/") {
		return usagef("PATH %q must start with /", path)
	}
	var body io.Reader
	dataSet := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "d" {
			dataSet = true
		}
	})
	if dataSet {
		switch {
		case *data == "@-":
			body = os.Stdin
		case strings.HasPrefix(*data, "@"):
			f, err := os.Open((*data)[1:])
			if err != nil {
				return fmt.Errorf("reading request body: %w", err)
			}
			defer f.Close()
			body = f
		default:
			body = strings.NewReader(*data)
		}
	}
	m := *method
	if m == "" {
		m = http.MethodGet
		if body != nil {
			m = http.MethodPost
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	req, err := http.NewRequestWithContext(ctx, m, "http://"+hostFor(addr)+path, body)
	if err != nil {
		return usagef("%v", err)
	}
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return usagef("-H %q is not 'Name: value'", h)
		}
		req.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	client := httpipc.NewClient(addr)
	if name, ok := strings.CutPrefix(addr, "dbus:"); ok {
		if _, err := address.Parse(addr); err != nil {
			return err
		}
		c, closeBus, err := dbusClient(name)
		if err != nil {
			return err
		}
		defer closeBus()
		client = c
	}
	client.CheckRedirect = checkRedirect(*location, stderr)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if *include {
		fmt.Fprintf(stdout, "%s %s\r\n", resp.Proto, resp.Status)
		writeHeader(stdout, resp.Header)
		fmt.Fprint(stdout, "\r\n")
	}
	if _, err := io.Copy(stdout, resp.Body); err != nil {
		return fmt.Errorf("reading response body: %w", err)
	}
	if *include && len(resp.Trailer) > 0 {
		writeHeader(stdout, resp.Trailer)
	}
	if *fail && resp.StatusCode >= 400 {
		fmt.Fprintf(stderr, "httpipc call: the provider answered %s\n", resp.Status)
		os.Exit(22)
	}
	return nil
}

// checkRedirect is call's redirect policy: like curl, a 3xx response is the
// answer unless -L (follow) is given. Followed redirects stay on the
// provider: every request goes to ADDR whatever host a Location names, so
// one naming another host is not followed, and its 3xx is the answer.
func checkRedirect(follow bool, stderr io.Writer) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if !follow {
			return http.ErrUseLastResponse
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if req.URL.Host != via[0].URL.Host {
			fmt.Fprintf(stderr, "httpipc call: not following the redirect to another host, %s\n", req.URL.Host)
			return http.ErrUseLastResponse
		}
		return nil
	}
}

func writeHeader(w io.Writer, h http.Header) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			fmt.Fprintf(w, "%s: %s\r\n", k, v)
		}
	}
}

// hostFor picks the authority sent with the request: the service name, or
// "localhost" for socket addresses.
func hostFor(addr string) string {
	if !strings.Contains(addr, ":") {
		return addr
	}
	return "localhost"
}
