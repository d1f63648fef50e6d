package httpipc

import (
	"net"
	"sync"
	"time"
)

// readPhase is what a binary-protocol connection is reading, which decides
// its read deadline.
type readPhase uint8

const (
	// phaseUnmanaged: deadlines are set on the socket directly (the
	// preface, and HTTP/1.1 connections, whose server sets its own).
	phaseUnmanaged readPhase = iota
	// phaseWait: waiting for the next request (ConnIdleTimeout).
	phaseWait
	// phaseHead: reading a request head that has begun (ReadHeaderTimeout).
	phaseHead
	// phaseBody: reading a request body, or a handler runs; no deadline.
	phaseBody
)

// deadlineReader is the reader under a binary-protocol connection's read
// buffer. The serve loop names the phase the connection is in, and the read
// deadline that phase needs is set on the socket only before a read that
// reaches the socket: a request whose head is already buffered when it
// begins, as a small request usually is, costs no timer operation, and the
// idle deadline, which only moves forward, is set again at most once every
// ConnIdleTimeout/idleSlack. A timer operation costs little itself, but it can wake a second
// thread of the runtime, which then takes the socket's next wakeup on another
// CPU.
type deadlineReader struct {
	c net.Conn

	// mu orders the serve loop's phase changes with a read in the
	// background (the connection watch), which may be under way when the
	// handler returns.
	mu    sync.Mutex
	phase readPhase
	idle  time.Duration // ConnIdleTimeout; <= 0 for none
	head  time.Duration // ReadHeaderTimeout; <= 0 for none
	at    time.Time     // the read deadline set on c; zero for none
	// headSet reports that the deadline of the current request head has
	// been set.
	headSet bool
}

// An idle connection may be closed up to ConnIdleTimeout/idleSlack late:
// the idle deadline is set that much later than needed, and set again only
// when it would otherwise come too early.
const idleSlack = 8

// Read sets the deadline of the current phase if the socket lacks it, then
// reads from the socket.
func (d *deadlineReader) Read(p []byte) (int, error) {
	d.mu.Lock()
	if d.phase != phaseUnmanaged {
		d.apply(time.Time{})
	}
	d.mu.Unlock()
	return d.c.Read(p)
}

// manage starts managing the deadlines, clearing the preface's.
func (d *deadlineReader) manage(idle, head time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.idle, d.head, d.phase = idle, head, phaseBody
	d.at = time.Time{}
	_ = d.c.SetReadDeadline(time.Time{})
}

// enter moves to phase p. now, if not zero, sets the deadline at once, for a
// read already under way.
func (d *deadlineReader) enter(p readPhase, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.phase = p
	if p == phaseHead {
		d.headSet = false
	}
	if !now.IsZero() {
		d.apply(now)
	}
}

// apply sets the deadline of the current phase if c does not have it. now
// is the current time, or zero to read the clock when needed. d.mu is held.
func (d *deadlineReader) apply(now time.Time) {
	var want time.Time
	switch d.phase {
	case phaseWait:
		if d.idle <= 0 {
			break
		}
		if now.IsZero() {
			now = time.Now()
		}
		early := now.Add(d.idle)
		if !d.at.Before(early) && d.at.Sub(early) <= d.idle/idleSlack {
			return
		}
		want = early.Add(d.idle / idleSlack)
	case phaseHead:
		if d.headSet {
			return
		}
		d.headSet = true
		if d.head > 0 {
			if now.IsZero() {
				now = time.Now()
			}
			want = now.Add(d.head)
		}
	}
	if want.Equal(d.at) {
		return
	}
	d.at = want
	_ = d.c.SetReadDeadline(want)
}
