package message

import (
	"errors"
	"net"
	"sync"
)

// LinkPair returns the two ends of an in-process Link that carries
// messages of at most max bytes (0: DefaultMaxMessageSize), queueing up to
// 64 messages each way. It stands in for a platform channel in tests and
// benchmarks.
func LinkPair(max int) (Link, Link) {
	if max <= 0 {
		max = DefaultMaxMessageSize
	}
	ab, ba := make(chan []byte, 64), make(chan []byte, 64)
	done := make(chan struct{})
	once := &sync.Once{}
	a := &pipeLink{in: ba, out: ab, max: max, done: done, once: once}
	b := &pipeLink{in: ab, out: ba, max: max, done: done, once: once}
	return a, b
}

type pipeLink struct {
	in, out chan []byte
	max     int
	done    chan struct{}
	once    *sync.Once
}

var errTooBig = errors.New("message: message larger than the link carries")

func (p *pipeLink) Send(msg []byte) error {
	if len(msg) > p.max {
		return errTooBig
	}
	select {
	case <-p.done:
		return net.ErrClosed
	default:
	}
	select {
	case p.out <- append([]byte(nil), msg...):
		return nil
	case <-p.done:
		return net.ErrClosed
	}
}

func (p *pipeLink) Recv() ([]byte, error) {
	select {
	case m := <-p.in:
		return m, nil
	case <-p.done:
		return nil, net.ErrClosed
	}
}

func (p *pipeLink) MaxMessageSize() int { return p.max }

func (p *pipeLink) Close() error {
	p.once.Do(func() { close(p.done) })
	return nil
}
