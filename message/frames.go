package message

import (
	"fmt"
	"io"

	"github.com/httpipc/httpipc/bhttp"
)

// Frame types of streams over messages (docs/PROTOCOL.md).
const (
	frameData   = 0 // payload: stream bytes
	frameFin    = 1 // the sender will send no more bytes on the stream
	frameReset  = 2 // the stream failed; payload: reason
	frameWindow = 3 // stream 0; payload: varint count of bytes consumed
)

func (m *Mux) sendFrame(typ byte, id, seq uint64, payload []byte) error {
	m.sendMu.Lock()
	defer m.sendMu.Unlock()
	b := append(m.sendBuf[:0], typ)
	b = bhttp.AppendVarint(b, id)
	b = bhttp.AppendVarint(b, seq)
	b = append(b, payload...)
	m.sendBuf = b
	return m.link.Send(b)
}

// parseFrame splits a frame into its parts.
func parseFrame(msg []byte) (typ byte, id, seq uint64, payload []byte, err error) {
	if len(msg) == 0 {
		return 0, 0, 0, nil, fmt.Errorf("%w: empty message", errProtocol)
	}
	typ = msg[0]
	if typ > frameWindow {
		return 0, 0, 0, nil, fmt.Errorf("%w: unknown frame type %d", errProtocol, typ)
	}
	r := sliceReader{msg[1:]}
	if id, err = bhttp.ReadVarint(&r); err == nil {
		seq, err = bhttp.ReadVarint(&r)
	}
	if err != nil {
		return 0, 0, 0, nil, fmt.Errorf("%w: truncated frame header", errProtocol)
	}
	if (typ == frameWindow) != (id == 0) {
		return 0, 0, 0, nil, fmt.Errorf("%w: frame type %d on stream %d", errProtocol, typ, id)
	}
	return typ, id, seq, r.b, nil
}

type sliceReader struct{ b []byte }

func (r *sliceReader) ReadByte() (byte, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c, nil
}
