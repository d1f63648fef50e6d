package procstat

import (
	"errors"
	"os"
	"runtime"
	"testing"
)

func TestPeakRSS(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/PID/status is Linux's")
	}
	n, err := PeakRSS(os.Getpid())
	if err != nil || n <= 0 {
		t.Fatalf("this process: %d, %v", n, err)
	}
	if _, err := PeakRSS(-1); err == nil || errors.Is(err, ErrNoPeakRSS) {
		t.Errorf("no such process: %v", err)
	}
}
