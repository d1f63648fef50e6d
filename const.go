package httpipc

import (
	"time"

	"github.com/httpipc/httpipc/internal/httpmsg"
)

// Wire constants of the httpipc stream protocol (docs/PROTOCOL.md).
const (
	// ProtocolVersion is the highest protocol version this package speaks.
	ProtocolVersion = 1
	// minProtocolVersion is the lowest version this package speaks.
	minProtocolVersion = 1

	// prefaceLen is the length of the magic that opens the client and the
	// server preface.
	prefaceLen = 8
	// versionRefused in the server preface means the connection is refused;
	// a length-prefixed reason follows.
	versionRefused = 0
	// maxRefusalReason bounds the reason a server sends with a refusal.
	maxRefusalReason = 1024

	// defaultMaxHeaderBytes bounds each field section (docs/PROTOCOL.md, Limits).
	defaultMaxHeaderBytes = 64 << 10
	// maxDrainBytes is how much of an unread request body the provider reads
	// and drops to keep the connection after the handler returned.
	maxDrainBytes = 256 << 10
	// inlineBodyMax is the largest request body the client writes together
	// with the request head, without a separate writer goroutine.
	inlineBodyMax = 64 << 10
	// chunkSize is the largest content chunk either side writes.
	chunkSize = 32 << 10
	// bufferSize is the size of the read and write buffers of a connection.
	bufferSize = 32 << 10

	// Defaults of the Server's connection limits (see Server).
	defaultPrefaceTimeout    = 5 * time.Second
	defaultReadHeaderTimeout = 10 * time.Second
	defaultConnIdleTimeout   = 2 * time.Minute
	defaultMaxConns          = 1024
	defaultMaxConnsPerUser   = 256
	// refusalWait bounds how long a refused peer is given to send its first
	// byte (so the refusal can be in its protocol) and to take the refusal.
	refusalWait = time.Second
	// errTooManyConns is the reason of a refusal at a connection cap.
	errTooManyConns = "too many connections"
	// drainWindow is how long an idle-exiting provider keeps accepting
	// connections that were queued before its socket became unreachable.
	drainWindow = 25 * time.Millisecond
	// peekAfter is how long a pooled connection must have been idle before
	// the client checks that the provider has not closed it.
	peekAfter = 50 * time.Millisecond

	defaultMaxIdleConns    = 16
	defaultIdleConnTimeout = 90 * time.Second
)

// ErrorField names the field a provider adds to every response it
// generates itself (docs/PROTOCOL.md, section 4), so that a client can tell
// it from a response of the handler. Its value is one of the Error codes.
const ErrorField = httpmsg.ErrorField

// The values of ErrorField, with the status each comes with
// (docs/PROTOCOL.md, section 4). A client treats a code it does not know
// like a response of its status.
const (
	// ErrorMalformed (400): the request breaks RFC 9292 or a rule of the
	// protocol.
	ErrorMalformed = httpmsg.CodeMalformed
	// ErrorForbidden (403, message mode): the provider's policy refuses the
	// caller. message.Transport reports it as an error wrapping ErrRefused.
	ErrorForbidden = httpmsg.CodeForbidden
	// ErrorTooLarge (413 or 431): the request content, the request message
	// or a field section exceeds the provider's limit.
	ErrorTooLarge = httpmsg.CodeTooLarge
	// ErrorHandlerPanic (500): the handler failed before it started a
	// response.
	ErrorHandlerPanic = httpmsg.CodeHandlerPanic
	// ErrorResponseTooLarge (500, message mode): the handler's response
	// does not fit in one message.
	ErrorResponseTooLarge = httpmsg.CodeResponseTooLarge
	// ErrorInvalidResponse (500): the handler's response head cannot be
	// encoded.
	ErrorInvalidResponse = httpmsg.CodeInvalidResponse
	// ErrorUpstreamFailed (502): an adapter that forwards to an HTTP server
	// could not get an answer from it.
	ErrorUpstreamFailed = httpmsg.CodeUpstream
	// ErrorTooMany (503, message mode): a channel over the provider's cap.
	// message.Transport reports it as an error wrapping ErrRefused.
	ErrorTooMany = httpmsg.CodeTooMany
)

// magic opens both prefaces. Its first byte is not a token character, so it
// can never begin an HTTP/1.1 request line; the CR LF and SUB bytes catch
// line-ending translation, as in PNG.
var magic = [prefaceLen]byte{0x89, 'I', 'P', 'C', '\r', '\n', 0x1a, '\n'}
