package httpipc

import (
	"context"
	"errors"
	"testing"
	"time"
)

// reqContext behaves as a cancellable context: values from the
// connection's context, no deadline, Done and Err before and after
// cancellation, and derived contexts and AfterFunc functions that follow it
// through its AfterFunc method, unregistered when stopped.
func TestReqContext(t *testing.T) {
	type key struct{}
	newCtx := func() *reqContext {
		return &reqContext{sc: &serverConn{ctx: context.WithValue(context.Background(), key{}, "peer")}}
	}
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		case <-time.After(5 * time.Second):
			return false
		}
	}

	c := newCtx()
	if c.Value(key{}) != "peer" {
		t.Errorf("Value: %v", c.Value(key{}))
	}
	if _, ok := c.Deadline(); ok {
		t.Error("a deadline")
	}
	done := c.Done()
	select {
	case <-done:
		t.Fatal("Done closed before cancel")
	default:
	}
	if c.Err() != nil || c.Done() != done {
		t.Fatalf("before cancel: Err %v, a second Done channel %v", c.Err(), c.Done() != done)
	}

	child, cancelChild := context.WithCancel(c)
	defer cancelChild()
	timed, cancelTimed := context.WithTimeout(c, time.Hour)
	ran := make(chan struct{})
	context.AfterFunc(c, func() { close(ran) })
	stopped := false
	stop := context.AfterFunc(c, func() { stopped = true })
	if !stop() {
		t.Error("stopping an AfterFunc before cancel reported false")
	}
	cancelTimed() // unregisters itself from c
	c.mu.Lock()
	registered := len(c.after)
	c.mu.Unlock()
	if registered != 2 { // child and ran
		t.Errorf("%d functions registered, want 2 (the stopped ones are gone)", registered)
	}
	if timed.Err() != context.Canceled {
		t.Errorf("the timed child after its own cancel: %v", timed.Err())
	}

	c.cancel()
	c.cancel()
	if !closed(done) || !errors.Is(c.Err(), context.Canceled) {
		t.Fatalf("after cancel: Done closed %v, Err %v", closed(done), c.Err())
	}
	if !closed(child.Done()) || child.Err() != context.Canceled || context.Cause(child) != context.Canceled {
		t.Errorf("the child: Err %v, Cause %v", child.Err(), context.Cause(child))
	}
	if !closed(ran) {
		t.Error("an AfterFunc did not run after cancel")
	}
	if stopped {
		t.Error("a stopped AfterFunc ran")
	}
	late := make(chan struct{})
	if context.AfterFunc(c, func() { close(late) })() {
		t.Error("stopping an AfterFunc registered after cancel reported true")
	}
	if !closed(late) {
		t.Error("an AfterFunc registered after cancel did not run")
	}

	// Done asked for the first time after cancel is closed.
	c2 := newCtx()
	c2.cancel()
	if !closed(c2.Done()) {
		t.Error("Done of a cancelled context, first asked after cancel, is open")
	}
}
