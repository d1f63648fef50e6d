package bhttp

import (
	"fmt"
	"io"
)

// MaxVarint is the largest value a variable-length integer can hold (2^62-1).
const MaxVarint = 1<<62 - 1

// AppendVarint appends v in the variable-length integer encoding of
// RFC 9000 Section 16 and returns the extended slice. It panics if v is larger
// than MaxVarint, which is a programming error, not an input error.
func AppendVarint(b []byte, v uint64) []byte {
	switch {
	case v < 1<<6:
		return append(b, byte(v))
	case v < 1<<14:
		return append(b, byte(v>>8)|0x40, byte(v))
	case v < 1<<30:
		return append(b, byte(v>>24)|0x80, byte(v>>16), byte(v>>8), byte(v))
	case v <= MaxVarint:
		return append(b, byte(v>>56)|0xc0, byte(v>>48), byte(v>>40), byte(v>>32),
			byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	panic(fmt.Sprintf("bhttp: varint %d out of range", v))
}

// VarintLen returns how many bytes AppendVarint uses for v.
func VarintLen(v uint64) int {
	switch {
	case v < 1<<6:
		return 1
	case v < 1<<14:
		return 2
	case v < 1<<30:
		return 4
	}
	return 8
}

// ReadVarint reads one variable-length integer. A stream that ends inside the
// integer gives io.ErrUnexpectedEOF; one that ends before it gives io.EOF.
func ReadVarint(r io.ByteReader) (uint64, error) {
	b0, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	n := 1 << (b0 >> 6)
	v := uint64(b0 & 0x3f)
	for i := 1; i < n; i++ {
		b, err := r.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		v = v<<8 | uint64(b)
	}
	return v, nil
}

// sliceReader reads varints and bytes from a byte slice.
type sliceReader struct {
	b []byte
}

func (s *sliceReader) ReadByte() (byte, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c, nil
}
