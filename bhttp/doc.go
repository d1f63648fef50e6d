// Package bhttp encodes and decodes HTTP messages in the Binary HTTP format
// of RFC 9292 (media type message/bhttp).
//
// It is built for streams that carry many messages back to back: a [Reader]
// decodes one message at a time from a buffered stream, handing the content
// out as an [io.Reader] so a body of any size flows through bounded memory,
// and knows where each message ends without relying on the end of the input.
// The Append functions encode into a caller-owned byte slice, so a small
// message costs one buffer and no other allocations.
//
// Both framings are decoded: known-length (framing indicators 0 and 1) and
// indeterminate-length (2 and 3). The encoder writes indeterminate-length
// messages, whose content is a sequence of chunks and can be produced before
// its length is known.
//
// Two decoding modes exist. On a stream (NewReader) every message must be
// complete: padding and truncation are not allowed, because the end of the
// input does not mark the end of a message. For a message held whole in
// memory (DecodeRequest, DecodeResponse) the rules of RFC 9292 Sections 3.8
// and 3.9 apply: trailing sections may be truncated and zero padding may
// follow.
//
// Every length read from the input is checked against [Limits] before memory
// is allocated for it. Errors wrap [ErrMalformed] or [ErrTooLarge] and name
// the part of the message that was wrong.
package bhttp
