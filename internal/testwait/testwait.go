// Package testwait bounds a test's waits: a wait that never ends fails the
// test after its bound, naming what it waited for, instead of hanging until
// go test's own timeout ends the whole run.
package testwait

import (
	"sync"
	"testing"
	"time"
)

// Recv returns the next value from ch, or fails t when none comes within d.
func Recv[T any](t testing.TB, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("%s: nothing within %v", what, d)
		panic("unreachable")
	}
}

// Wait waits for wg, or fails t when it is not done within d.
func Wait(t testing.TB, wg *sync.WaitGroup, d time.Duration, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	Recv(t, done, d, what)
}
