package clitest

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"time"
)

// WatchHWM polls the peak resident memory (VmHWM) of process pid until
// done is closed, and sends the last value read, in KiB.
//
// This is more faithful than the rusage of the finished child on Linux:
// Go starts children with vfork, sharing the parent's memory until exec,
// and the kernel folds the parent's peak into the child's ru_maxrss at
// exec, so a test process that has grown makes every child look as large.
// VmHWM belongs to the memory image the child gets at exec, and it only
// grows, so the last value read before exit is its peak, short of what the
// last few milliseconds add.
func WatchHWM(pid int, done <-chan struct{}) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		var peak int64
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			if v, ok := readHWM(pid); ok && v > peak {
				peak = v
			}
			select {
			case <-done:
				out <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

func readHWM(pid int) (int64, bool) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			var kib int64
			if _, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), &kib); err == nil {
				return kib, true
			}
		}
	}
	return 0, false
}
