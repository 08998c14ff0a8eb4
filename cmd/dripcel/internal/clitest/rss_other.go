//go:build !unix

package clitest

import "os"

// MaxRSSKiB is not measured on this system.
func MaxRSSKiB(*os.ProcessState) int64 { return 0 }
