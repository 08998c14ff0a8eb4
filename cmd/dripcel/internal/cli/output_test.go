package cli

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

// TestPrinterConcurrentUse writes to one printer from two goroutines, as the
// Ctrl-C handler and the upload's progress do on standard error: under
// -race this fails unless printer is safe for concurrent use, and no line
// may be torn.
func TestPrinterConcurrentUse(t *testing.T) {
	var buf bytes.Buffer
	p := NewPrinter(&buf)
	const lines = 200
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			for i := range lines {
				if g == 0 {
					p.Printf("progress %d\n", i)
				} else {
					p.Println("interrupted", i)
				}
			}
		})
	}
	wg.Wait()
	if err := p.Failed(); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(got) != 2*lines {
		t.Fatalf("%d lines, want %d", len(got), 2*lines)
	}
	for _, line := range got {
		if !strings.HasPrefix(line, "progress ") && !strings.HasPrefix(line, "interrupted ") {
			t.Fatalf("torn line %q", line)
		}
	}
}
