// Package procstat reads what Linux reports of a process in /proc that the
// tests and the bench measure: its peak resident set size.
package procstat

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ErrNoPeakRSS is returned where /proc/PID/status has no VmHWM line (not
// Linux, or a kernel thread).
var ErrNoPeakRSS = errors.New("procstat: no VmHWM in /proc/PID/status")

// PeakRSS returns the peak resident set size (VmHWM) of process pid, in
// bytes.
func PeakRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("procstat: peak RSS of %d: %w", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" && f[2] == "kB" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("procstat: peak RSS of %d: %q: %w", pid, line, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("%w (pid %d)", ErrNoPeakRSS, pid)
}
