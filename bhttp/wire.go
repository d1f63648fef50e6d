package bhttp

import (
	"errors"
	"fmt"
)

// Framing indicators (RFC 9292 Section 3.3).
const (
	KnownLengthRequest          = 0
	KnownLengthResponse         = 1
	IndeterminateLengthRequest  = 2
	IndeterminateLengthResponse = 3
)

// Limits and ranges of the decoder (docs/PROTOCOL.md, section 4).
const (
	defaultMaxFieldSectionSize  = 64 << 10
	informationalMin, finalMin  = 100, 200
	finalMax                    = 599
	maxInformationalPerResponse = 16
	maxControlDataFieldSize     = 8 << 10
)

// Errors returned by decoding. Each error returned wraps one of these and says
// which part of the message was wrong.
var (
	// ErrMalformed means the input does not follow RFC 9292 or breaks a rule of
	// HTTP semantics that the decoder enforces (field name syntax, status range,
	// a Content-Length that disagrees with the content).
	ErrMalformed = errors.New("bhttp: malformed message")
	// ErrTooLarge means a part of the message is larger than the Limits allow.
	ErrTooLarge = errors.New("bhttp: message too large")
)

// Limits bounds what a decoder accepts. The zero value is a good default.
type Limits struct {
	// MaxFieldSectionSize bounds the encoded size of the request control data
	// plus the header section, and separately of each trailer section and each
	// informational response. Zero means 64 KiB.
	MaxFieldSectionSize int
}

func (l Limits) fieldSection() int {
	if l.MaxFieldSectionSize <= 0 {
		return defaultMaxFieldSectionSize
	}
	return l.MaxFieldSectionSize
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

func tooLarge(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrTooLarge}, args...)...)
}
