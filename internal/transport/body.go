package transport

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// maxPooledBody is the largest buffer a BodyPool keeps. Upload bodies are
// cut well below it; a body made larger by one oversized sale is left to the
// garbage collector rather than held for ever.
const maxPooledBody = 256 << 10

// errBodyClosed is what a Read after Close returns.
var errBodyClosed = errors.New("dripcel: read from a closed request body")

// BodyPool recycles request body buffers, so that an upload of any size
// reuses a few buffers instead of allocating one per batch. The zero value
// is ready to use; it must not be copied after first use.
type BodyPool struct{ pool sync.Pool }

// Get returns an empty body that the caller owns.
func (p *BodyPool) Get() *Body {
	b, ok := p.pool.Get().(*Body)
	if !ok {
		b = &Body{pool: p}
	}
	b.refs.Store(1)
	return b
}

// Body is a request body whose buffer goes back to its pool only when
// nothing can read it any more.
//
// net/http may read a request body after RoundTrip has returned (when the
// server answers before reading the whole body, the transport goes on
// writing it), and it closes the body once it is done with it. So every
// reader handed out holds a reference, dropped by its Close, and the owner
// holds one more, dropped by Release once it will ask for no new reader. A
// reader copies from the buffer only under its own lock and never after its
// Close, so when the count reaches zero no goroutine can touch the buffer,
// and only then is it put back in the pool. A transport that never closes a
// body only keeps the buffer from being reused: it is then garbage collected
// like any other.
type Body struct {
	// Buf is the body's content. The owner fills it before the first call
	// to Reader and must not change it afterwards.
	Buf  []byte
	refs atomic.Int32
	pool *BodyPool
}

// Reader returns a new reader of the whole body; it fits
// go-retryablehttp's ReaderFunc, which asks for one per attempt. The reader
// is an io.ReadCloser, so the transport's Close reaches it.
func (b *Body) Reader() (io.Reader, error) {
	if b.refs.Add(1) <= 1 {
		// Released already: the buffer may be in use elsewhere.
		b.refs.Add(-1)
		return nil, errors.New("dripcel: request body read after release")
	}
	return &bodyReader{body: b}, nil
}

// Release drops the owner's reference: call it once the request is over.
func (b *Body) Release() { b.unref() }

func (b *Body) unref() {
	if b.refs.Add(-1) != 0 {
		return
	}
	if b.pool == nil || cap(b.Buf) > maxPooledBody {
		return
	}
	b.Buf = b.Buf[:0]
	b.pool.pool.Put(b)
}

// bodyReader reads a Body. It is deliberately not an io.WriterTo: writing
// to the network under the lock would let a slow connection hold up Close.
type bodyReader struct {
	mu     sync.Mutex
	body   *Body
	off    int
	closed bool
}

// Read copies from the buffer under the reader's lock, so Close cannot
// return (and the buffer cannot be recycled) in the middle of a copy.
func (r *bodyReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, errBodyClosed
	}
	buf := r.body.Buf
	if r.off >= len(buf) {
		return 0, io.EOF
	}
	n := copy(p, buf[r.off:])
	r.off += n
	return n, nil
}

// Len is the number of unread bytes; go-retryablehttp reads the
// Content-Length from it.
func (r *bodyReader) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0
	}
	return len(r.body.Buf) - r.off
}

// Close releases the reader's reference; closing twice is harmless.
func (r *bodyReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		r.body.unref()
	}
	return nil
}
