package bhttp

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
)

// Request is a whole request message held in memory.
type Request struct {
	RequestHead
	Content []byte
	Trailer http.Header
}

// Informational is an informational (1xx) response that preceded the final
// response.
type Informational struct {
	Status int
	Header http.Header
}

// Response is a whole response message held in memory.
type Response struct {
	Informational []Informational
	ResponseHead
	Content []byte
	Trailer http.Header
}

// AppendRequest appends req as one indeterminate-length message whose
// content, if any, is a single chunk.
func AppendRequest(b []byte, req *Request) ([]byte, error) {
	b, err := AppendRequestHead(b, &req.RequestHead)
	if err != nil {
		return b, err
	}
	b = AppendChunk(b, req.Content)
	return AppendEnd(b, req.Trailer)
}

// AppendResponse appends resp as one indeterminate-length message whose
// content, if any, is a single chunk.
func AppendResponse(b []byte, resp *Response) ([]byte, error) {
	b = AppendResponseStart(b)
	var err error
	for _, in := range resp.Informational {
		if b, err = AppendInformational(b, in.Status, in.Header); err != nil {
			return b, err
		}
	}
	if b, err = AppendResponseHead(b, resp.Status, resp.Header); err != nil {
		return b, err
	}
	b = AppendChunk(b, resp.Content)
	return AppendEnd(b, resp.Trailer)
}

// DecodeRequest decodes a request held whole in b. Truncated trailing
// sections and zero padding are accepted (RFC 9292 Sections 3.8 and 3.9);
// any other byte after the message is an error.
func DecodeRequest(b []byte, lim Limits) (*Request, error) {
	r := memReader(b, lim)
	h, err := r.ReadRequestHead()
	if err != nil {
		return nil, noEOF(err)
	}
	req := &Request{RequestHead: *h}
	if req.Content, err = readContent(r, len(b)); err != nil {
		return nil, err
	}
	req.Trailer = r.Trailer()
	return req, checkPadding(r)
}

// DecodeResponse decodes a response held whole in b, with the same rules as
// DecodeRequest.
func DecodeResponse(b []byte, lim Limits) (*Response, error) {
	return decodeResponse(b, lim, false)
}

// DecodeHeadResponse decodes a response to a HEAD request held whole in b:
// its content must be empty, whatever its Content-Length says.
func DecodeHeadResponse(b []byte, lim Limits) (*Response, error) {
	return decodeResponse(b, lim, true)
}

func decodeResponse(b []byte, lim Limits, head bool) (*Response, error) {
	r := memReader(b, lim)
	r.head = head
	resp := &Response{}
	h, err := r.ReadResponseHead(func(status int, h http.Header) error {
		resp.Informational = append(resp.Informational, Informational{status, h})
		return nil
	})
	if err != nil {
		return nil, noEOF(err)
	}
	resp.ResponseHead = *h
	if resp.Content, err = readContent(r, len(b)); err != nil {
		return nil, err
	}
	resp.Trailer = r.Trailer()
	return resp, checkPadding(r)
}

func memReader(b []byte, lim Limits) *Reader {
	r := NewReader(bufio.NewReaderSize(bytes.NewReader(b), 4096), lim)
	r.truncOK = true
	return r
}

func readContent(r *Reader, max int) ([]byte, error) {
	var buf bytes.Buffer
	// The content cannot be longer than the input that holds it.
	if _, err := io.Copy(&buf, io.LimitReader(r, int64(max)+1)); err != nil {
		return nil, err
	}
	if buf.Len() == 0 {
		return nil, nil
	}
	return buf.Bytes(), nil
}

func checkPadding(r *Reader) error {
	for {
		c, err := r.br.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if c != 0 {
			return malformed("non-zero byte 0x%02x after the end of the message", c)
		}
	}
}

func noEOF(err error) error {
	if err == io.EOF {
		return unexpected(err, "framing indicator")
	}
	return err
}
