package transport

import (
	"errors"
	"io"
	"sync"
	"testing"
)

func TestBodyGoesBackToPoolOnlyWhenEveryReaderIsClosed(t *testing.T) {
	var p BodyPool
	b := p.Get()
	b.Buf = append(b.Buf, "hello"...)
	r1, err := b.Reader()
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := b.Reader()
	b.Release()
	if got := b.refs.Load(); got != 2 {
		t.Fatalf("refs = %d after the owner's release, want 2 (two open readers)", got)
	}
	got, err := io.ReadAll(r1)
	if err != nil || string(got) != "hello" {
		t.Fatalf("read %q, %v", got, err)
	}
	_ = r1.(io.Closer).Close()
	_ = r1.(io.Closer).Close() // a second Close must not release twice
	if got := b.refs.Load(); got != 1 {
		t.Fatalf("refs = %d, want 1", got)
	}
	_ = r2.(io.Closer).Close()
	if got := b.refs.Load(); got != 0 {
		t.Fatalf("refs = %d, want 0", got)
	}
	if len(b.Buf) != 0 {
		t.Error("a recycled body keeps its content")
	}
	if _, err := b.Reader(); err == nil {
		t.Error("Reader of a released body succeeded")
	}
}

func TestBodyReaderAfterClose(t *testing.T) {
	var p BodyPool
	b := p.Get()
	b.Buf = append(b.Buf, "abc"...)
	r, _ := b.Reader()
	if n := r.(interface{ Len() int }).Len(); n != 3 {
		t.Errorf("Len = %d, want 3", n)
	}
	_ = r.(io.Closer).Close()
	if _, err := r.Read(make([]byte, 8)); !errors.Is(err, errBodyClosed) {
		t.Errorf("Read after Close: %v, want errBodyClosed", err)
	}
	b.Release()
}

// Under -race: readers closed from other goroutines while they read, and
// the buffer rewritten as soon as it is recycled. Any read of a recycled
// buffer is a data race the detector reports.
func TestBodyRecycleRace(t *testing.T) {
	var (
		p  BodyPool
		wg sync.WaitGroup
	)
	// No wait between rounds: a round's readers may still run while the
	// next round writes into a recycled buffer.
	for range 200 {
		b := p.Get()
		for i := range 8 << 10 {
			b.Buf = append(b.Buf, byte(i))
		}
		for range 3 {
			r, err := b.Reader()
			if err != nil {
				t.Fatal(err)
			}
			wg.Add(2)
			go func() {
				defer wg.Done()
				buf := make([]byte, 512)
				for {
					if _, err := r.Read(buf); err != nil {
						return
					}
				}
			}()
			go func() {
				defer wg.Done()
				_ = r.(io.Closer).Close()
			}()
		}
		b.Release()
	}
	wg.Wait()
}
