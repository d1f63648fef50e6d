package bench

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// allowedCPUs returns, in order, the CPUs this process may run on.
func allowedCPUs() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("pin: reading the CPU affinity: %w", err)
	}
	var cpus []int
	for i := 0; i < len(set)*64; i++ {
		if set.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	if len(cpus) == 0 {
		return nil, fmt.Errorf("pin: no CPU in this process's affinity")
	}
	return cpus, nil
}

// pinTo binds every thread of this process to cpu. Threads created later,
// and the processes it starts, inherit the binding.
func pinTo(cpu int) error {
	var one unix.CPUSet
	one.Set(cpu)
	// A thread started while the others are being bound may inherit the
	// old affinity: go over the threads until a pass finds none unbound.
	done := map[int]bool{}
	for pass := 0; pass < 10; pass++ {
		ents, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return fmt.Errorf("pin: listing this process's threads: %w", err)
		}
		fresh := false
		for _, e := range ents {
			tid, err := strconv.Atoi(e.Name())
			if err != nil || done[tid] {
				continue
			}
			fresh = true
			if err := unix.SchedSetaffinity(tid, &one); err != nil && err != unix.ESRCH {
				return fmt.Errorf("pin: binding thread %d to CPU %d: %w", tid, cpu, err)
			}
			done[tid] = true
		}
		if !fresh {
			return nil
		}
	}
	return fmt.Errorf("pin: threads kept appearing while binding them to CPU %d", cpu)
}
