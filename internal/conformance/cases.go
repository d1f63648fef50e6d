package conformance

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/httpipc/httpipc/bhttp"
	"github.com/httpipc/httpipc/internal/httpmsg"
	"github.com/httpipc/httpipc/peercred"
)

// Cases returns the suite, in the order a connection meets the rules of
// docs/PROTOCOL.md: the preface, the messages, sequencing, cancellation,
// errors and limits, identity, HTTP/1.1.
func Cases() []Case {
	return []Case{
		// Section 6: connection preface.
		{Section: "6", Name: "preface",
			Description: "the provider answers with the server preface (magic, version 1) before its first response; a request sent together with the preface is answered",
			Run:         runPreface},
		{Section: "6", Name: "version-range",
			Description: "a client offering versions 1 to 5 gets the version chosen, min <= version <= max: 1",
			Run:         runVersionRange},
		{Section: "6", Name: "refuse-min-above-max",
			Description: "no version is common (min > max): a refusal preface (version 0, a UTF-8 reason of at most 1024 bytes), then the provider closes",
			Run:         refused(clientPreface(2, 1))},
		{Section: "6", Name: "refuse-unsupported-version",
			Description: "min above every version the provider speaks (only 2): a refusal preface with a reason, then the provider closes",
			Run:         refused(clientPreface(2, 2))},
		{Section: "6", Name: "refuse-bad-magic",
			Description: "a malformed preface (wrong magic byte): a refusal preface with a reason, then the provider closes",
			Run:         refused([]byte{0x89, 'I', 'P', 'X', '\r', '\n', 0x1a, '\n', 1, 1})},
		{Section: "6", Name: "partial-preface-timeout", Slow: true,
			Description: "a provider waits a bounded time (5 s) for the whole client preface, then closes a connection that has not sent it, without an answer",
			Run:         silent(magic[:5], prefaceDeadline)},

		// Section 3: HTTP messages; section 7: sequencing.
		{Section: "3 rule 1", Name: "known-length-request",
			Description: "receivers MUST accept known-length framing (indicator 0): a known-length GET is answered",
			Run:         runKnownLength},
		{Section: "3 rule 1", Name: "echo-known-length", Echo: true,
			Description: "known-length framing with content is accepted: the echo handler answers the content back",
			Run:         runEchoKnownLength},
		{Section: "3 rule 1", Name: "malformed-framing-indicator",
			Description: "framing indicator 4 is not RFC 9292: 400 with httpipc-error: malformed in the form of section 4, then close",
			Run:         malformed(append([]byte{4}, request("GET", "/", nil, nil)[1:]...))},
		{Section: "3 rule 1", Name: "malformed-response-indicator",
			Description: "a response framing indicator (3) where a request is due: 400 malformed in the form of section 4, then close",
			Run:         malformed(append([]byte{3}, request("GET", "/", nil, nil)[1:]...))},
		{Section: "3 rule 2", Name: "response-complete",
			Description: "a response is one complete RFC 9292 message (content and trailer sections present, no padding): two GETs in sequence are both answered, in order",
			Run:         runResponseComplete},
		{Section: "3 rule 3", Name: "response-fields",
			Description: "response field names are lowercase tokens, values have no control character but HTAB, no pseudo-header fields",
			Run:         runResponseFields},
		{Section: "3 rule 3", Name: "malformed-uppercase-name",
			Description: "a field name with uppercase letters is malformed: 400 malformed in the form of section 4, then close",
			Run:         malformed(rawRequest{indicator: 2, method: "GET", path: "/", fields: [][2]string{{"X-Upper", "y"}}}.bytes())},
		{Section: "3 rule 3", Name: "malformed-pseudo-header",
			Description: "a pseudo-header field (:path) in a field section is malformed: 400 malformed in the form of section 4, then close",
			Run:         malformed(rawRequest{indicator: 2, method: "GET", path: "/", fields: [][2]string{{":path", "/"}}}.bytes())},
		{Section: "3 rule 3", Name: "malformed-control-in-value",
			Description: "a field value with the control byte 0x01 is malformed: 400 malformed in the form of section 4, then close",
			Run:         malformed(rawRequest{indicator: 2, method: "GET", path: "/", fields: [][2]string{{"x", "a\x01b"}}}.bytes())},
		{Section: "3 rule 3", Name: "malformed-del-in-value",
			Description: "a field value with DEL (0x7f) is malformed: 400 malformed in the form of section 4, then close",
			Run:         malformed(rawRequest{indicator: 2, method: "GET", path: "/", fields: [][2]string{{"x", "a\x7fb"}}}.bytes())},
		{Section: "3 rule 3", Name: "malformed-empty-name",
			Description: "an empty field name (known-length framing) is malformed: 400 malformed in the form of section 4, then close",
			Run:         malformed(rawRequest{indicator: 0, method: "GET", path: "/", fields: [][2]string{{"", "v"}}}.bytes())},
		{Section: "3 rule 3", Name: "malformed-non-token-name",
			Description: "a field name that is not a token (\"x y\") is malformed: 400 malformed in the form of section 4, then close",
			Run:         malformed(rawRequest{indicator: 2, method: "GET", path: "/", fields: [][2]string{{"x y", "v"}}}.bytes())},
		{Section: "3 rule 4", Name: "malformed-method",
			Description: "the method is a token: \"G T\" is malformed: 400 malformed in the form of section 4, then close",
			Run:         malformed(rawRequest{indicator: 2, method: "G T", path: "/"}.bytes())},
		{Section: "3 rule 4", Name: "malformed-path-space",
			Description: "the path contains no spaces: \"/a b\" is malformed: 400 malformed in the form of section 4, then close",
			Run:         malformed(rawRequest{indicator: 2, method: "GET", path: "/a b"}.bytes())},
		{Section: "3 rule 4", Name: "malformed-path-form",
			Description: "the path is in origin form or *: \"a\" is malformed: 400 malformed in the form of section 4, then close",
			Run:         malformed(rawRequest{indicator: 2, method: "GET", path: "a"}.bytes())},
		{Section: "3 rule 6", Name: "head-no-content",
			Description: "a response to HEAD has no content, whatever its content-length says; the connection stays in step for the next request",
			Run:         runHead},
		{Section: "3 rule 6", Name: "content-length-mismatch-known",
			Description: "content shorter than its content-length (known-length framing) is malformed: the provider closes the connection (400 malformed if it answers)",
			Run: mismatch(rawRequest{indicator: 0, method: "POST", path: "", fields: [][2]string{{"content-length", "5"}},
				content: [][]byte{[]byte("abc")}})},
		{Section: "3 rule 6", Name: "content-length-mismatch-chunked",
			Description: "content shorter than its content-length (indeterminate length) is malformed: the provider closes the connection (400 malformed if it answers)",
			Run: mismatch(rawRequest{indicator: 2, method: "POST", path: "", fields: [][2]string{{"content-length", "10"}},
				content: [][]byte{[]byte("ab")}})},
		{Section: "3 rule 8", Name: "byte-at-a-time",
			Description: "receivers MUST NOT rely on chunk boundaries: a preface and request written one byte at a time are answered",
			Run:         runByteAtATime},
		{Section: "3 rule 8", Name: "echo-chunks", Echo: true,
			Description: "content in chunks of 1 to 64 bytes is delivered whole: the echo handler answers it back",
			Run:         runEchoChunks},
		{Section: "7 Sequencing", Name: "pipelined",
			Description: "a request sent before the previous response ended is processed after it: a GET then a malformed request get a response, then 400 malformed",
			Run:         runPipelined},
		{Section: "7 Sequencing", Name: "echo-pipelined", Echo: true,
			Description: "requests on one connection are answered in order, one response each: two echo POSTs sent together come back in order",
			Run:         runEchoPipelined},
		{Section: "7 Sequencing", Name: "unread-content-drained",
			Description: "a provider that answers without reading all the content reads and drops up to 256 KiB of the rest to keep the connection: a GET with 64 KiB of content, then a GET, are both answered",
			Run:         runDrained},
		{Section: "7 Sequencing", Name: "echo-full-duplex", Echo: true,
			Description: "the stream is full duplex: 4 MiB of content is echoed while it is being sent",
			Run:         runEchoFullDuplex},

		// Section 7: cancellation; section 4: errors and limits.
		{Section: "7 Cancellation", Name: "cancel-before-response",
			Description: "either side cancels by closing the connection: 16 connections closed right after their request leave the provider serving new ones",
			Run:         runCancelBeforeResponse},
		{Section: "7 Cancellation", Name: "echo-cancel-mid-response", Echo: true,
			Description: "a client that stops reading a response early closes the connection: the provider then serves new connections",
			Run:         runCancelMidResponse},
		{Section: "4 Errors", Name: "truncated-request",
			Description: "a truncated request (the client closed the connection mid-message) gets no response; the provider keeps serving other connections",
			Run:         runTruncated},
		{Section: "4 Limits", Name: "header-too-large",
			Description: "control data and header section over the limit (64 KiB, or --max-header-bytes): 431 with httpipc-error: too-large in the form of section 4, then close",
			Run:         runHeaderTooLarge},
		{Section: "4 Limits", Name: "control-field-too-large",
			Description: "a control data field (the path) over 8 KiB: 431 with httpipc-error: too-large in the form of section 4, then close",
			Run: generated(rawRequest{indicator: 2, method: "GET", path: "/" + strings.Repeat("a", 8<<10)}.bytes(),
				http.StatusRequestHeaderFieldsTooLarge, httpmsg.CodeTooLarge)},
		{Section: "4 Limits", Name: "echo-trailer-too-large", Echo: true,
			Description: "a trailer section over 64 KiB, after empty content, so the echo handler reads it before answering: 431 with httpipc-error: too-large in the form of section 4, then close",
			Run:         runTrailerTooLarge},
		{Section: "4 Limits", Name: "silent-connection-timeout", Slow: true,
			Description: "a connection that sends nothing is closed without an answer once the first byte and client preface are late (5 s)",
			Run:         silent(nil, prefaceDeadline)},
		{Section: "4 Limits", Name: "request-head-timeout", Slow: true,
			Description: "a request head that does not arrive whole within 10 s of its first byte: the connection is closed without an answer",
			Run:         silent(append(clientPreface(1, 1), request("GET", "/", nil, nil)[:4]...), headDeadline)},

		// Section 5: identity.
		{Section: "5", Name: "same-user-admitted",
			Description: "the default policy admits a client of the same user as the provider",
			Run:         runSameUser},

		// Section 8: HTTP/1.1 on the same socket.
		{Section: "8", Name: "http1-fallback",
			Description: "a first byte that is an ASCII letter is served as HTTP/1.1: GET of a path gets an HTTP/1.1 response",
			Run:         runHTTP1},
		{Section: "8", Name: "http1-other-first-byte",
			Description: "any first byte other than 0x89 or an ASCII letter gets 400 Bad Request and the connection is closed",
			Run:         runOtherFirstByte},
	}
}

// prefacedGet returns a client preface and a GET of a random path.
func prefacedGet() []byte {
	return append(clientPreface(1, 1), request("GET", randomPath(), nil, nil)...)
}

// answered checks that a response came and is not a generated error for
// malformed input: the request was accepted as well formed.
func answered(r *response) error {
	if r.head.Status == http.StatusBadRequest && r.errorCode() == httpmsg.CodeMalformed {
		return fmt.Errorf("the provider found the request malformed: %v", r)
	}
	return nil
}

func runPreface(t *T) error {
	c, err := t.dial()
	if err != nil {
		return err
	}
	if err := c.write(prefacedGet()); err != nil {
		return err
	}
	if err := c.expectAccepted(); err != nil {
		return err
	}
	r, err := c.readResponse(false)
	if err != nil {
		return err
	}
	t.Note("GET answered %v", r)
	return answered(r)
}

func runVersionRange(t *T) error {
	c, err := t.dial()
	if err != nil {
		return err
	}
	if err := c.write(append(clientPreface(1, 5), request("GET", randomPath(), nil, nil)...)); err != nil {
		return err
	}
	v, reason, err := c.readPreface()
	switch {
	case err != nil:
		return err
	case v == 0:
		return fmt.Errorf("refused a client offering 1-5: %q", reason)
	case v != 1:
		return fmt.Errorf("chose version %d; version 1 is the only one specified", v)
	}
	r, err := c.readResponse(false)
	if err != nil {
		return err
	}
	return answered(r)
}

// refused returns a case that sends preface and expects a refusal.
func refused(preface []byte) func(*T) error {
	return func(t *T) error {
		c, err := t.dial()
		if err != nil {
			return err
		}
		if err := c.write(preface); err != nil && !isClosed(err) {
			return err
		}
		reason, err := c.expectRefused()
		if err != nil {
			return err
		}
		t.Note("refused: %q", reason)
		return nil
	}
}

type deadlineKind int

const (
	prefaceDeadline deadlineKind = iota
	headDeadline
)

// silent returns a case that sends prefix and then nothing, and expects the
// provider to close the connection without an answer by its deadline.
func silent(prefix []byte, kind deadlineKind) func(*T) error {
	return func(t *T) error {
		d := t.Config.prefaceTimeout()
		if kind == headDeadline {
			d = t.Config.readHeaderTimeout()
		}
		c, err := t.dial()
		if err != nil {
			return err
		}
		start := time.Now()
		_ = c.nc.SetReadDeadline(start.Add(d + deadlineSlack))
		if len(prefix) > 0 {
			if err := c.write(prefix); err != nil {
				return err
			}
		}
		if kind == headDeadline {
			// The server preface may precede the close: it carries
			// no answer.
			if _, err := c.br.Peek(1); err == nil {
				if err := c.expectAccepted(); err != nil {
					return err
				}
			}
		}
		if err := c.expectClosed("from a silent connection"); err != nil {
			return fmt.Errorf("%w (deadline %v, slack %v)", err, d, deadlineSlack)
		}
		t.Note("closed after %v", time.Since(start).Round(10*time.Millisecond))
		return nil
	}
}

func runKnownLength(t *T) error {
	c, err := t.dial()
	if err != nil {
		return err
	}
	req := rawRequest{indicator: 0, method: "GET", path: randomPath(), fields: [][2]string{{"accept", "*/*"}}}
	if err := c.write(append(clientPreface(1, 1), req.bytes()...)); err != nil {
		return err
	}
	if err := c.expectAccepted(); err != nil {
		return err
	}
	r, err := c.readResponse(false)
	if err != nil {
		return err
	}
	return answered(r)
}

// generated returns a case that sends req after a preface and expects the
// response the provider generates, with status and code, then the close.
func generated(req []byte, status int, code string) func(*T) error {
	return func(t *T) error {
		c, err := t.dial()
		if err != nil {
			return err
		}
		c.send(append(clientPreface(1, 1), req...))
		if err := c.expectAccepted(); err != nil {
			return err
		}
		r, err := c.expectGenerated(status, code)
		if err != nil {
			return err
		}
		t.Note("%v", r)
		return nil
	}
}

func malformed(req []byte) func(*T) error {
	return generated(req, http.StatusBadRequest, httpmsg.CodeMalformed)
}

// mismatch returns a case whose request content disagrees with its
// content-length: the provider must close the connection; when it answers
// with a generated error, that must be 400 malformed in the form of
// section 4.
func mismatch(req rawRequest) func(*T) error {
	return func(t *T) error {
		req.path = randomPath()
		c, err := t.dial()
		if err != nil {
			return err
		}
		c.send(append(clientPreface(1, 1), req.bytes()...))
		if err := c.expectAccepted(); err != nil {
			return err
		}
		if _, err := c.br.Peek(1); err != nil && isClosed(err) {
			t.Note("closed without a response")
			return nil
		}
		r, err := c.readResponse(false)
		if err != nil {
			return err
		}
		if r.errorCode() != "" {
			if r.head.Status != http.StatusBadRequest || r.errorCode() != httpmsg.CodeMalformed {
				return fmt.Errorf("got %v, want 400 malformed", r)
			}
			if err := checkGeneratedForm(r); err != nil {
				return err
			}
		}
		t.Note("answered %v", r)
		return c.expectClosed(fmt.Sprintf("after the %d response to a malformed request", r.head.Status))
	}
}

func runResponseComplete(t *T) error {
	c, err := t.dial()
	if err != nil {
		return err
	}
	if err := c.write(prefacedGet()); err != nil {
		return err
	}
	if err := c.expectAccepted(); err != nil {
		return err
	}
	r1, err := c.readResponse(false)
	if err != nil {
		return fmt.Errorf("first GET: %w", err)
	}
	if err := c.write(request("GET", randomPath(), nil, nil)); err != nil {
		return fmt.Errorf("second GET: %w", err)
	}
	r2, err := c.readResponse(false)
	if err != nil {
		return fmt.Errorf("second GET (is there padding after the first response?): %w", err)
	}
	t.Note("answered %v, then %v", r1, r2)
	return nil
}

func runResponseFields(t *T) error {
	c, err := t.dial()
	if err != nil {
		return err
	}
	h := http.Header{"Accept": {"*/*"}, "User-Agent": {"httpipc-conformance"}, "Accept-Language": {"en"}}
	if err := c.write(append(clientPreface(1, 1), request("GET", randomPath(), h, nil)...)); err != nil {
		return err
	}
	if err := c.expectAccepted(); err != nil {
		return err
	}
	// The decoder rejects every violation of rule 3.
	r, err := c.readResponse(false)
	if err != nil {
		return err
	}
	t.Note("%d fields", len(r.head.Header))
	return nil
}

func runHead(t *T) error {
	c, err := t.dial()
	if err != nil {
		return err
	}
	if err := c.write(append(clientPreface(1, 1), request("HEAD", randomPath(), nil, nil)...)); err != nil {
		return err
	}
	if err := c.expectAccepted(); err != nil {
		return err
	}
	r, err := c.readResponse(true)
	if err != nil {
		return fmt.Errorf("HEAD: %w", err)
	}
	if err := c.write(request("GET", randomPath(), nil, nil)); err != nil {
		return err
	}
	if _, err := c.readResponse(false); err != nil {
		return fmt.Errorf("the GET after HEAD: %w", err)
	}
	t.Note("HEAD answered %v", r)
	return nil
}

func runByteAtATime(t *T) error {
	c, err := t.dial()
	if err != nil {
		return err
	}
	for _, b := range prefacedGet() {
		if err := c.write([]byte{b}); err != nil {
			return err
		}
	}
	if err := c.expectAccepted(); err != nil {
		return err
	}
	r, err := c.readResponse(false)
	if err != nil {
		return err
	}
	return answered(r)
}

// echo sends one POST to the echo path and checks the answer.
func (c *conn) echo(req []byte, want []byte) error {
	if req != nil {
		c.send(req)
	}
	r, err := c.readResponse(false)
	if err != nil {
		return err
	}
	if r.head.Status != http.StatusOK {
		return fmt.Errorf("the echo path answered %v, want 200", r)
	}
	if !bytes.Equal(r.content, want) {
		return fmt.Errorf("echoed %d bytes %q, want %d bytes %q", len(r.content), abbrev(r.content), len(want), abbrev(want))
	}
	return nil
}

func abbrev(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

func runEchoChunks(t *T) error {
	c, err := t.dial()
	if err != nil {
		return err
	}
	var chunks [][]byte
	var want []byte
	for n := 1; n <= 64; n *= 2 {
		ch := bytes.Repeat([]byte{byte('a' + len(chunks))}, n)
		chunks = append(chunks, ch)
		want = append(want, ch...)
	}
	req := rawRequest{indicator: 2, method: "POST", path: t.Config.EchoPath,
		fields: [][2]string{{"content-type", "application/octet-stream"}}, content: chunks}
	c.send(clientPreface(1, 1))
	if err := c.expectAcceptedAfter(req.bytes()); err != nil {
		return err
	}
	return c.echo(nil, want)
}

// expectAcceptedAfter sends b and reads the server preface.
func (c *conn) expectAcceptedAfter(b []byte) error {
	c.send(b)
	return c.expectAccepted()
}

func runEchoKnownLength(t *T) error {
	c, err := t.dial()
	if err != nil {
		return err
	}
	body := []byte("known-length content\n")
	req := rawRequest{indicator: 0, method: "POST", path: t.Config.EchoPath,
		fields:  [][2]string{{"content-length", strconv.Itoa(len(body))}, {"content-type", "application/octet-stream"}},
		content: [][]byte{body}}
	if err := c.expectAcceptedAfter(append(clientPreface(1, 1), req.bytes()...)); err != nil {
		return err
	}
	return c.echo(nil, body)
}

func runPipelined(t *T) error {
	c, err := t.dial()
	if err != nil {
		return err
	}
	bad := rawRequest{indicator: 2, method: "GET", path: "/", fields: [][2]string{{"X-Upper", "y"}}}.bytes()
	if err := c.expectAcceptedAfter(append(prefacedGet(), bad...)); err != nil {
		return err
	}
	r, err := c.readResponse(false)
	if err != nil {
		return fmt.Errorf("first response: %w", err)
	}
	if r.errorCode() != "" {
		return fmt.Errorf("the well-formed GET sent first was answered %v: out of order?", r)
	}
	r2, err := c.expectGenerated(http.StatusBadRequest, httpmsg.CodeMalformed)
	if err != nil {
		return fmt.Errorf("second response: %w", err)
	}
	t.Note("answered %v, then %v", r, r2)
	return nil
}

func runEchoPipelined(t *T) error {
	c, err := t.dial()
	if err != nil {
		return err
	}
	h := http.Header{"Content-Type": {"application/octet-stream"}}
	b := append(clientPreface(1, 1), request("POST", t.Config.EchoPath, h, []byte("first"))...)
	b = append(b, request("POST", t.Config.EchoPath, h, []byte("second"))...)
	if err := c.expectAcceptedAfter(b); err != nil {
		return err
	}
	if err := c.echo(nil, []byte("first")); err != nil {
		return fmt.Errorf("first response: %w", err)
	}
	if err := c.echo(nil, []byte("second")); err != nil {
		return fmt.Errorf("second response: %w", err)
	}
	return nil
}

func runDrained(t *T) error {
	c, err := t.dial()
	if err != nil {
		return err
	}
	chunks := make([][]byte, 16)
	for i := range chunks {
		chunks[i] = bytes.Repeat([]byte{'x'}, 4<<10)
	}
	req := rawRequest{indicator: 2, method: "GET", path: randomPath(), content: chunks}
	if err := c.expectAcceptedAfter(append(clientPreface(1, 1), req.bytes()...)); err != nil {
		return err
	}
	c.send(request("GET", randomPath(), nil, nil))
	r1, err := c.readResponse(false)
	if err != nil {
		return fmt.Errorf("the GET with content: %w", err)
	}
	r2, err := c.readResponse(false)
	if err != nil {
		return fmt.Errorf("the GET after it: %w", err)
	}
	t.Note("answered %v, then %v", r1, r2)
	return nil
}

func runEchoFullDuplex(t *T) error {
	c, err := t.dial()
	if err != nil {
		return err
	}
	const size, chunk = 4 << 20, 16 << 10
	c.send(clientPreface(1, 1))
	h := http.Header{"Content-Type": {"application/octet-stream"}}
	head, err := bhttp.AppendRequestHead(nil, &bhttp.RequestHead{Method: "POST", Scheme: "http", Authority: "conformance", Path: t.Config.EchoPath, Header: h})
	if err != nil {
		return err
	}
	c.send(head)
	want := make([]byte, 0, size)
	for i := 0; len(want) < size; i++ {
		p := bytes.Repeat([]byte{byte('a' + i%26)}, chunk)
		want = append(want, p...)
		c.send(bhttp.AppendChunk(nil, p))
	}
	c.send([]byte{0, 0})
	if err := c.expectAccepted(); err != nil {
		return err
	}
	return c.echo(nil, want)
}

func runCancelBeforeResponse(t *T) error {
	for i := range 16 {
		c, err := t.dial()
		if err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		if err := c.write(prefacedGet()); err != nil {
			return err
		}
		c.nc.Close()
	}
	return servesNew(t)
}

// servesNew checks that a new connection is answered.
func servesNew(t *T) error {
	c, err := t.dial()
	if err != nil {
		return err
	}
	if err := c.expectAcceptedAfter(prefacedGet()); err != nil {
		return fmt.Errorf("a new connection: %w", err)
	}
	if _, err := c.readResponse(false); err != nil {
		return fmt.Errorf("a new connection: %w", err)
	}
	return nil
}

func runCancelMidResponse(t *T) error {
	c, err := t.dial()
	if err != nil {
		return err
	}
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	h := http.Header{"Content-Type": {"application/octet-stream"}}
	if err := c.expectAcceptedAfter(append(clientPreface(1, 1), request("POST", t.Config.EchoPath, h, body)...)); err != nil {
		return err
	}
	r, err := c.dec.ReadResponseHead(nil)
	if err != nil {
		return c.decodeError(err, "response")
	}
	if r.Status != http.StatusOK {
		return fmt.Errorf("the echo path answered %d, want 200", r.Status)
	}
	if _, err := io.ReadFull(c.dec, make([]byte, 1024)); err != nil {
		return c.decodeError(err, "response content")
	}
	c.nc.Close()
	return servesNew(t)
}

func runTruncated(t *T) error {
	c, err := t.dial()
	if err != nil {
		return err
	}
	req := request("GET", randomPath(), http.Header{"Accept": {"*/*"}}, nil)
	if err := c.write(append(clientPreface(1, 1), req[:len(req)/2]...)); err != nil {
		return err
	}
	if c.closeWrite() {
		if _, err := c.br.Peek(1); err == nil {
			// A server preface carries no response.
			if err := c.expectAccepted(); err != nil {
				return err
			}
		}
		if err := c.expectClosed("after a truncated request"); err != nil {
			return err
		}
	} else {
		c.nc.Close()
	}
	return servesNew(t)
}

func runHeaderTooLarge(t *T) error {
	limit := t.Config.maxHeader()
	var fields [][2]string
	value := strings.Repeat("v", 1000)
	for n, size := 0, 0; size <= limit+1024; n++ {
		f := [2]string{fmt.Sprintf("x-pad-%04d", n), value}
		fields = append(fields, f)
		size += len(f[0]) + len(f[1]) + 4
	}
	req := rawRequest{indicator: 2, method: "GET", path: "/", fields: fields}
	return generated(req.bytes(), http.StatusRequestHeaderFieldsTooLarge, httpmsg.CodeTooLarge)(t)
}

func runTrailerTooLarge(t *T) error {
	var trailer [][2]string
	value := strings.Repeat("v", 1000)
	for n := 0; n < 70; n++ {
		trailer = append(trailer, [2]string{fmt.Sprintf("x-pad-%04d", n), value})
	}
	req := rawRequest{indicator: 2, method: "POST", path: t.Config.EchoPath,
		fields: [][2]string{{"content-type", "application/octet-stream"}}, trailer: trailer}
	return generated(req.bytes(), http.StatusRequestHeaderFieldsTooLarge, httpmsg.CodeTooLarge)(t)
}

func runSameUser(t *T) error {
	c, err := t.dial()
	if err != nil {
		return err
	}
	if creds, err := peercred.Get(c.nc); err == nil {
		self := peercred.Self()
		if creds.UID != self.UID || creds.SID != self.SID {
			return Skip("the provider runs as %v, not as this user", creds)
		}
	}
	if err := c.expectAcceptedAfter(prefacedGet()); err != nil {
		return err
	}
	_, err = c.readResponse(false)
	return err
}

// expectedPrefaceText is what a provider that does not offer HTTP/1.1 says
// in its 400 answer to an HTTP/1.1 request.
const expectedPrefaceText = "expected the httpipc preface"

func runHTTP1(t *T) error {
	nc, err := t.DialRaw()
	if err != nil {
		return err
	}
	req := "GET " + randomPath() + " HTTP/1.1\r\nHost: localhost\r\nUser-Agent: httpipc-conformance\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		return t.timeoutError(err, "write")
	}
	resp, err := http.ReadResponse(bufio.NewReader(nc), &http.Request{Method: "GET"})
	if err != nil {
		return t.timeoutError(err, "HTTP/1.1 response")
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode == http.StatusBadRequest && strings.Contains(string(body), expectedPrefaceText) {
		return Skip("the provider does not offer HTTP/1.1: %q", strings.TrimSpace(string(body)))
	}
	if resp.ProtoMajor != 1 || resp.ProtoMinor != 1 {
		return fmt.Errorf("answered %s, want HTTP/1.1", resp.Proto)
	}
	t.Note("answered %s", resp.Status)
	return nil
}

func runOtherFirstByte(t *T) error {
	for _, first := range []byte{0x00, 0x16, '1', '{'} {
		nc, err := t.DialRaw()
		if err != nil {
			return err
		}
		if _, err := nc.Write([]byte{first, '\r', '\n', '\r', '\n'}); err != nil {
			return t.timeoutError(err, "write")
		}
		br := bufio.NewReader(nc)
		resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
		if err != nil {
			return fmt.Errorf("first byte %#02x: %w", first, t.timeoutError(err, "HTTP/1.1 400 response"))
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			return fmt.Errorf("first byte %#02x: answered %s, want 400 Bad Request", first, resp.Status)
		}
		var b [1]byte
		if n, err := br.Read(b[:]); n > 0 || !isClosed(err) {
			if n > 0 {
				return fmt.Errorf("first byte %#02x: more bytes after the 400 response instead of the end of the connection", first)
			}
			return fmt.Errorf("first byte %#02x: %w", first, t.timeoutError(err, "end of the connection after the 400 response"))
		}
		nc.Close()
	}
	return nil
}
