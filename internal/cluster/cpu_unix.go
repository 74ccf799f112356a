//go:build unix

package cluster

import (
	"runtime"
	"syscall"
	"time"
)

// cpuMeter measures the process's share of the machine's CPUs between two
// samples (getrusage: user and system time).
type cpuMeter struct {
	at   time.Time
	used time.Duration
}

// sample returns the share used since the previous sample, 0 to 1 (0 at
// the first).
func (m *cpuMeter) sample() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	used := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	now := time.Now()
	prevAt, prevUsed := m.at, m.used
	m.at, m.used = now, used
	wall := now.Sub(prevAt)
	if prevAt.IsZero() || wall <= 0 {
		return 0
	}
	share := float64(used-prevUsed) / float64(wall) / float64(runtime.NumCPU())
	return min(max(share, 0), 1)
}
