//go:build unix

package boltfile

import (
	"errors"
	"runtime/debug"
	"syscall"
	"testing"
)

// A damaged page can point outside the file's memory mapping. Reading
// there is a fault, which would kill the process; under Guard it is the
// format's Corrupt error. The fault here is made on purpose: a page
// mapped, unmapped, then read.
func TestGuardTurnsAFaultIntoCorrupt(t *testing.T) {
	corrupt := errors.New("corrupt")
	f := Format{Kind: "test", Corrupt: corrupt}
	page, err := syscall.Mmap(-1, 0, syscall.Getpagesize(), syscall.PROT_READ, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("no anonymous mapping here: %v", err)
	}
	if err := syscall.Munmap(page); err != nil {
		t.Fatal(err)
	}
	var read byte
	err = f.Guard(func() error {
		read = page[0] // the mapping is gone: a fault
		return nil
	})
	if !errors.Is(err, corrupt) {
		t.Fatalf("Guard = %v (read %d), want the Corrupt error", err, read)
	}
	// Outside Guard a fault is fatal again, as the runtime has it: the
	// setting is put back.
	if was := debug.SetPanicOnFault(false); was {
		t.Error("Guard left the goroutine panicking on faults")
	}
}
