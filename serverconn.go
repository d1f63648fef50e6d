package httpipc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/httpipc/httpipc/bhttp"
	"github.com/httpipc/httpipc/internal/httpmsg"
	"github.com/httpipc/httpipc/peercred"
)

// serverConn serves the binary protocol on one connection: requests are read
// and answered one after another.
type serverConn struct {
	srv  *Server
	c    net.Conn
	dr   *deadlineReader // under br
	br   *bufio.Reader
	bw   *bufio.Writer
	dec  *bhttp.Reader
	peer *peercred.Creds
	ctx  context.Context
	wbuf []byte
	held []byte // content written before the head, kept to sniff its type

	remote string // peer credentials as a string, for RemoteAddr and logs

	// The request context is cancelled when the peer goes away. Noticing
	// that takes a read in the background, which is started only once the
	// handler asks for cancellation (calls Done or Err on the context) and
	// the request has been read whole (until then the handler's own reads
	// notice). bgRead then receives the result of that read. Handlers that
	// never look at their context cost no extra goroutine.
	watchMu  sync.Mutex
	seq      uint64 // counts requests
	running  bool   // the handler of request seq is running
	bodyDone bool   // request seq has been read whole
	wanted   bool   // the handler of request seq asked for cancellation
	bgRead   chan error
	reqCtx   *reqContext // the context of the request being served
}

// reqContext is a request's context. It carries the connection context's
// values, has no deadline, and is cancelled when the request ends or the
// peer goes away; it starts the connection watch when the handler first asks
// whether it is cancelled. It is a context of its own, rather than one of
// context.WithCancel, so that it costs no allocation beyond the exchange
// that holds it: its channel is made only when asked for.
type reqContext struct {
	sc  *serverConn
	seq uint64

	mu    sync.Mutex
	done  chan struct{}        // made by Done
	err   error                // context.Canceled once cancelled
	after map[*func()]struct{} // functions AfterFunc registered
}

func (c *reqContext) Deadline() (time.Time, bool) { return time.Time{}, false }

func (c *reqContext) Value(key any) any { return c.sc.ctx.Value(key) }

func (c *reqContext) Done() <-chan struct{} {
	c.sc.wantWatch(c.seq)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done)
		}
	}
	return c.done
}

func (c *reqContext) Err() error {
	c.sc.wantWatch(c.seq)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// AfterFunc runs f in a goroutine of its own once c is cancelled, and its
// stop function unregisters f; contexts derived from c follow it through
// this method (the context package looks for it) rather than with a
// goroutine each.
func (c *reqContext) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		go f()
		return func() bool { return false }
	}
	key := &f
	if c.after == nil {
		c.after = make(map[*func()]struct{})
	}
	c.after[key] = struct{}{}
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.after[key]
		delete(c.after, key)
		return ok
	}
}

// cancel cancels c; later calls do nothing.
func (c *reqContext) cancel() {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = context.Canceled
	if c.done != nil {
		close(c.done)
	}
	after := c.after
	c.after = nil
	c.mu.Unlock()
	for f := range after {
		go (*f)()
	}
}

func (sc *serverConn) serve() {
	if !sc.readPreface() {
		return
	}
	sc.bw = bufio.NewWriterSize(sc.c, bufferSize)
	sc.dec = bhttp.NewReader(sc.br, bhttp.Limits{MaxFieldSectionSize: sc.srv.maxHeader()})
	sc.remote = peerString(sc.peer)
	sc.ctx = context.WithValue(context.Background(), peerKey{}, sc.peer)
	sc.ctx = context.WithValue(sc.ctx, http.ServerContextKey, (*http.Server)(nil))
	sc.wbuf = append(magic[:], ProtocolVersion)
	_, _ = sc.bw.Write(sc.wbuf)
	first := true
	for {
		// Between requests the connection is idle, and so is one that
		// sent only its preface: neither holds off the idle exit.
		idle := !first || sc.br.Buffered() == 0
		first = false
		if idle {
			sc.srv.setBusy(sc.c, false)
		}
		if !sc.waitRequest() {
			return
		}
		if idle {
			sc.srv.setBusy(sc.c, true)
		}
		sc.dr.enter(phaseHead, time.Time{})
		head, err := sc.dec.ReadRequestHead()
		if err != nil {
			sc.protocolError(err)
			return
		}
		sc.dr.enter(phaseBody, time.Time{})
		if !sc.serveRequest(head) {
			return
		}
	}
}

// readPreface reads and checks the client preface, answering a bad one with
// a refusal.
func (sc *serverConn) readPreface() bool {
	// The deadline for the preface was set when the connection was
	// accepted.
	p, err := sc.br.Peek(prefaceLen + 2)
	if err != nil {
		if len(p) > 0 && !strings.HasPrefix(string(magic[:]), string(p)) {
			sc.refuse("bad preface")
		}
		return false
	}
	if [prefaceLen]byte(p[:prefaceLen]) != magic {
		sc.refuse(fmt.Sprintf("bad preface % x", p[:prefaceLen]))
		return false
	}
	lo, hi := p[prefaceLen], p[prefaceLen+1]
	if lo > hi || hi < minProtocolVersion || lo > ProtocolVersion {
		sc.refuse(fmt.Sprintf("unsupported protocol versions %d-%d; this provider speaks %d-%d", lo, hi, minProtocolVersion, ProtocolVersion))
		return false
	}
	_, _ = sc.br.Discard(prefaceLen + 2)
	sc.dr.manage(sc.srv.connIdleTimeout(), sc.srv.readHeaderTimeout())
	return true
}

func (sc *serverConn) refuse(reason string) {
	sc.srv.logger().Warn("httpipc: connection refused", "peer", peerString(sc.peer), "reason", reason)
	_ = sc.c.SetWriteDeadline(time.Now().Add(refusalWait))
	_, _ = sc.c.Write(refusalPreface(reason))
}

// waitRequest blocks until the next request begins and reports whether one
// did.
// Waiting is bounded by the server's ConnIdleTimeout.
func (sc *serverConn) waitRequest() bool {
	if sc.bgRead == nil && sc.br.Buffered() > 0 {
		return true
	}
	var err error
	if sc.bgRead != nil {
		select {
		case err = <-sc.bgRead:
		default:
			// The read is under way: its deadline is set now.
			sc.dr.enter(phaseWait, time.Now())
			err = <-sc.bgRead
		}
		sc.bgRead = nil
	} else {
		sc.dr.enter(phaseWait, time.Time{})
		_, err = sc.br.Peek(1)
	}
	if isTimeout(err) {
		sc.srv.logger().Debug("httpipc: closing an idle connection", "peer", sc.remote, "after", sc.srv.connIdleTimeout())
	}
	return err == nil
}

// wantWatch records that the handler of request seq wants to know when the
// peer goes away.
func (sc *serverConn) wantWatch(seq uint64) {
	sc.watchMu.Lock()
	defer sc.watchMu.Unlock()
	if seq != sc.seq || !sc.running || sc.wanted {
		return
	}
	sc.wanted = true
	if sc.bodyDone {
		sc.startBackgroundRead()
	}
}

// requestRead records that the request has been read whole.
func (sc *serverConn) requestRead() {
	sc.watchMu.Lock()
	defer sc.watchMu.Unlock()
	sc.bodyDone = true
	if sc.running && sc.wanted {
		sc.startBackgroundRead()
	}
}

// startWatch and stopWatch bracket a handler.
func (sc *serverConn) startWatch(bodyDone bool) uint64 {
	sc.watchMu.Lock()
	defer sc.watchMu.Unlock()
	sc.seq++
	sc.running, sc.bodyDone, sc.wanted = true, bodyDone, false
	return sc.seq
}

func (sc *serverConn) stopWatch() {
	sc.watchMu.Lock()
	sc.running = false
	sc.watchMu.Unlock()
}

// startBackgroundRead reads ahead in the background so that the request
// context is cancelled when the peer goes away. sc.watchMu is held.
func (sc *serverConn) startBackgroundRead() {
	if sc.bgRead != nil {
		return
	}
	ch := make(chan error, 1)
	sc.bgRead = ch
	rc := sc.reqCtx
	go func() {
		_, err := sc.br.Peek(1)
		if err != nil {
			rc.cancel()
		}
		ch <- err
	}()
}

// protocolError answers a request that could not be decoded and closes the
// connection.
func (sc *serverConn) protocolError(err error) {
	status, code := http.StatusBadRequest, httpmsg.CodeMalformed
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return // nobody is left to answer
	case isTimeout(err):
		sc.srv.logger().Info("httpipc: closing a connection whose request head is late", "peer", sc.remote, "after", sc.srv.readHeaderTimeout())
		return
	case errors.Is(err, bhttp.ErrTooLarge):
		status, code = http.StatusRequestHeaderFieldsTooLarge, httpmsg.CodeTooLarge
	case !errors.Is(err, bhttp.ErrMalformed):
		return // a read error
	}
	sc.srv.logger().Warn("httpipc: bad request", "peer", peerString(sc.peer), "err", err)
	sc.writeErrorResponse(status, code, err.Error())
}

// writeErrorResponse sends a whole response generated by the provider.
func (sc *serverConn) writeErrorResponse(status int, code, msg string) {
	b := httpmsg.AppendErrorResponse(bhttp.AppendResponseStart(sc.wbuf[:0]), status, code, msg)
	_ = sc.c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = sc.bw.Write(b)
	_ = sc.bw.Flush()
}

// serveRequest runs the handler for one request and reports whether the
// connection can carry another.
func (sc *serverConn) serveRequest(head *bhttp.RequestHead) (keep bool) {
	// The request's context, writer and body live as long as each other:
	// one allocation holds them.
	x := &exchange{ctx: reqContext{sc: sc}}
	ctx := &x.ctx
	sc.reqCtx = ctx
	defer ctx.cancel()

	req, err := sc.newRequest(ctx, head, &x.body)
	if err != nil {
		sc.srv.logger().Warn("httpipc: bad request", "peer", peerString(sc.peer), "err", err)
		sc.writeErrorResponse(http.StatusBadRequest, httpmsg.CodeMalformed, err.Error())
		return false
	}
	if sc.held == nil {
		sc.held = make([]byte, 0, httpmsg.SniffLen)
	}
	sc.held = sc.held[:0]
	x.w = responseWriter{ResponseState: httpmsg.NewResponseState(req.Method), sc: sc, req: req}
	w := &x.w
	b, hasBody := req.Body.(*requestBody)
	if hasBody {
		b.w = w
	}
	ctx.seq = sc.startWatch(!hasBody)
	ok := sc.runHandler(w, req)
	sc.stopWatch()
	if !ok {
		return false
	}
	if !w.finish() {
		return false
	}
	return sc.finishBody(req)
}

// finishBody makes sure the request has been read whole, reading and dropping
// a bounded rest the handler left, and reports whether the connection is
// still in step.
func (sc *serverConn) finishBody(req *http.Request) bool {
	b, ok := req.Body.(*requestBody)
	if !ok {
		return req.Body == http.NoBody
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return false
	}
	return b.done || sc.dec.Discard(maxDrainBytes)
}

// runHandler calls the handler, turning a panic into a 500 or an aborted
// response. It reports whether the connection can go on.
func (sc *serverConn) runHandler(w *responseWriter, req *http.Request) (ok bool) {
	p := httpmsg.CallHandler(sc.srv.handler(), w, req)
	if p == nil {
		return true
	}
	if p.Stack != "" {
		sc.srv.logger().Error("httpipc: handler panic", "peer", peerString(sc.peer),
			"method", req.Method, "path", req.URL.Path, "panic", p.Value, "stack", p.Stack)
		if !w.headerSent {
			sc.writeErrorResponse(http.StatusInternalServerError, httpmsg.CodeHandlerPanic, "internal server error")
		}
	}
	return false
}

// exchange holds what a request being served needs besides the request.
type exchange struct {
	ctx  reqContext
	w    responseWriter
	body requestBody
}

// newRequest builds the request for head, whose body, if it has one, is
// body.
func (sc *serverConn) newRequest(ctx context.Context, head *bhttp.RequestHead, body *requestBody) (*http.Request, error) {
	req, err := httpmsg.NewRequest(ctx, head)
	if err != nil {
		return nil, err
	}
	req.RemoteAddr = sc.remote
	if sc.dec.SkipEmptyContent() {
		req.ContentLength = 0
	} else {
		body.sc, body.max = sc, sc.srv.MaxRequestBodyBytes
		req.Body = body
	}
	return req, nil
}

// requestBody is the body of a request being served, read from the
// connection as the handler asks for it.
type requestBody struct {
	sc   *serverConn
	w    *responseWriter
	max  int64
	n    int64
	err  error
	done bool
	mu   sync.Mutex
}

func (b *requestBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	if b.done {
		return 0, io.EOF
	}
	if b.max > 0 && int64(len(p)) > b.max-b.n+1 {
		p = p[:b.max-b.n+1]
	}
	n, err := b.sc.dec.Read(p)
	b.n += int64(n)
	if b.max > 0 && b.n > b.max {
		b.err = &http.MaxBytesError{Limit: b.max}
		b.w.badBody(http.StatusRequestEntityTooLarge, httpmsg.CodeTooLarge, fmt.Sprintf("request body larger than %d bytes", b.max))
		return n - int(b.n-b.max), b.err
	}
	switch {
	case err == io.EOF:
		b.done = true
		if t := b.sc.dec.Trailer(); t != nil {
			b.w.req.Trailer = t
		}
		b.sc.requestRead()
	case err != nil:
		b.err = err
		b.sc.srv.logger().Warn("httpipc: reading request body", "peer", peerString(b.sc.peer), "err", err)
		switch {
		case errors.Is(err, bhttp.ErrTooLarge):
			b.w.badBody(http.StatusRequestHeaderFieldsTooLarge, httpmsg.CodeTooLarge, err.Error())
		case errors.Is(err, bhttp.ErrMalformed):
			b.w.badBody(http.StatusBadRequest, httpmsg.CodeMalformed, err.Error())
		}
	}
	return n, err
}

// Close lets the handler say it is done with the body.
func (b *requestBody) Close() error { return nil }

// responseWriter encodes what a handler writes as one response message,
// sending it as it goes. The HTTP rules it applies are httpmsg's.
type responseWriter struct {
	httpmsg.ResponseState
	sc  *serverConn
	req *http.Request

	headerSent   bool // the head is encoded on the connection
	started      bool // the framing indicator is encoded
	bodyTooLarge bool
	ended        bool // the provider answered in the handler's place
	err          error
}

// errResponseEnded is returned by writes after the provider has answered for
// the handler (413 for a request body over the limit).
var errResponseEnded = errors.New("httpipc: the provider answered in the handler's place")

func (w *responseWriter) Header() http.Header { return w.ResponseState.Header }

func (w *responseWriter) WriteHeader(code int) {
	if w.ended {
		return
	}
	switch w.ResponseState.WriteHeader(code) {
	case httpmsg.Superfluous:
		w.sc.srv.logger().Warn("httpipc: superfluous WriteHeader", "code", code, "path", w.req.URL.Path)
	case httpmsg.Informational:
		// An informational response goes out at once.
		b, err := bhttp.AppendInformational(w.startBuf(), code, w.ResponseState.Header)
		if err == nil {
			w.sc.wbuf = b
			w.write(b)
			w.err = errOr(w.err, w.sc.bw.Flush())
		}
	case httpmsg.Replaced:
		w.sc.srv.logger().Warn("httpipc: status cannot be carried; sending 500", "code", code, "path", w.req.URL.Path)
	}
}

// startBuf returns the scratch buffer, with the framing indicator first if
// nothing of the response has gone out yet.
func (w *responseWriter) startBuf() []byte {
	if !w.started {
		w.started = true
		return bhttp.AppendResponseStart(w.sc.wbuf[:0])
	}
	return w.sc.wbuf[:0]
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.WroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.ended {
		return 0, errResponseEnded
	}
	if write, err := w.CheckWrite(p, w.headerSent); !write {
		if err != nil {
			return 0, err
		}
		// Content for HEAD is dropped, once it has served for sniffing.
		if held := w.sc.held; w.SniffPending && len(held) < httpmsg.SniffLen {
			w.sc.held = append(held, p[:min(len(p), httpmsg.SniffLen-len(held))]...)
		}
		w.Written += int64(len(p))
		return len(p), nil
	}
	if w.err != nil {
		return 0, w.err
	}
	if !w.headerSent {
		if w.SniffPending && len(w.sc.held)+len(p) < httpmsg.SniffLen {
			// Too little content yet to sniff its type from: it waits
			// for more, a flush or the handler's end, as it would in
			// the connection's buffer anyway.
			w.sc.held = append(w.sc.held, p...)
			w.Written += int64(len(p))
			return len(p), nil
		}
		w.sendHead(p)
		if w.ended {
			return 0, errResponseEnded
		}
	}
	w.Written += int64(len(p))
	n := 0
	for len(p) > 0 {
		c := min(len(p), chunkSize)
		w.write(bhttp.AppendChunkHeader(w.sc.wbuf[:0], c))
		w.write(p[:c])
		if w.err != nil {
			return n, w.err
		}
		n += c
		p = p[c:]
	}
	return n, nil
}

// WriteString avoids a copy for handlers that use io.WriteString.
func (w *responseWriter) WriteString(s string) (int, error) {
	return w.Write([]byte(s))
}

// Flush sends what has been written so far.
func (w *responseWriter) Flush() {
	_ = w.FlushError()
}

// FlushError sends what has been written so far and reports a failure.
func (w *responseWriter) FlushError() error {
	if w.ended {
		return errResponseEnded
	}
	w.ensureHead()
	w.err = errOr(w.err, w.sc.bw.Flush())
	return w.err
}

// ensureHead sends the response head, with status 200 if the handler chose
// none, unless it has been sent.
func (w *responseWriter) ensureHead() {
	if !w.WroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headerSent {
		w.sendHead(nil)
	}
}

// sendHead sends the response head, then the content held for sniffing;
// next is the content being written, which the sniffing may look at.
func (w *responseWriter) sendHead(next []byte) {
	w.headerSent = true
	held := len(w.sc.held)
	if w.SniffPending {
		w.sc.held = append(w.sc.held, next[:min(len(next), httpmsg.SniffLen-held)]...)
		w.Sniff(w.sc.held)
	}
	first := !w.started
	b, err := bhttp.AppendResponseHead(w.startBuf(), w.Status, httpmsg.ResponseHeader(w.ResponseState.Header))
	if err != nil {
		// The provider answers in the handler's place (PROTOCOL.md,
		// section 4); what the handler writes afterwards is dropped and
		// the connection closes.
		w.sc.srv.logger().Error("httpipc: handler set an invalid header", "err", err, "path", w.req.URL.Path)
		b = w.sc.wbuf[:0]
		if first {
			b = bhttp.AppendResponseStart(b)
		}
		b = httpmsg.AppendErrorResponse(b, http.StatusInternalServerError, httpmsg.CodeInvalidResponse, err.Error())
		w.Status = http.StatusInternalServerError
		w.ended = true
	}
	w.sc.wbuf = b
	w.write(b)
	if w.ended {
		w.err = errOr(w.err, w.sc.bw.Flush())
		return
	}
	if held > 0 && !w.NoBody {
		w.write(bhttp.AppendChunkHeader(w.sc.wbuf[:0], held))
		w.write(w.sc.held[:held])
	}
}

// badBody answers for the handler when reading the request body failed
// for the request's own fault (413 or 431 too-large, 400 malformed) before
// the handler started its response; what the handler writes afterwards is
// dropped. The connection closes after the response either way.
func (w *responseWriter) badBody(status int, code, msg string) {
	w.bodyTooLarge = true
	if w.headerSent {
		return
	}
	w.headerSent, w.ended = true, true
	b := httpmsg.AppendErrorResponse(w.startBuf(), status, code, msg)
	w.sc.wbuf = b
	w.write(b)
	w.err = errOr(w.err, w.sc.bw.Flush())
}

// finish ends the response after the handler returned and reports whether
// the connection is still usable.
func (w *responseWriter) finish() bool {
	if w.ended {
		return false
	}
	w.ensureHead()
	if w.ended {
		return false
	}
	if w.Declared >= 0 && w.Written < w.Declared && !w.NoBody {
		// Ending the message now would tell the client the body is complete.
		w.sc.srv.logger().Warn("httpipc: handler wrote less than its Content-Length; aborting the response",
			"path", w.req.URL.Path, "declared", w.Declared, "written", w.Written)
		return false
	}
	trailer := httpmsg.Trailer(w.ResponseState.Header, httpmsg.TrailerNames(w.ResponseState.Header))
	b, err := bhttp.AppendEnd(w.sc.wbuf[:0], trailer)
	if err != nil {
		b, _ = bhttp.AppendEnd(w.sc.wbuf[:0], nil)
	}
	w.sc.wbuf = b
	w.write(b)
	w.err = errOr(w.err, w.sc.bw.Flush())
	return w.err == nil && !w.bodyTooLarge
}

func (w *responseWriter) write(b []byte) {
	if w.err != nil {
		return
	}
	_, w.err = w.sc.bw.Write(b)
}

func errOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// appendString appends a varint length and s.
func appendString(b []byte, s string) []byte {
	b = bhttp.AppendVarint(b, uint64(len(s)))
	return append(b, s...)
}
