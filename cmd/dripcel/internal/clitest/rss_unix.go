//go:build unix

package clitest

import (
	"os"
	"runtime"
	"syscall"
)

// MaxRSSKiB is the peak resident memory of a finished process, from its
// rusage (KiB on Linux and the BSDs, bytes on macOS).
func MaxRSSKiB(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss) / 1024 //nolint:unconvert // int32 on some systems
	}
	return int64(ru.Maxrss) //nolint:unconvert // int32 on some systems
}
