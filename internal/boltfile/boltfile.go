// Package boltfile opens the bbolt files the library keeps, the Reporter's
// spool and the ledger, in one careful way. A file that already exists is
// recognised read-only before it is opened for writing (opening a bbolt
// file for writing may write to it, which a foreign file must never see);
// a file is initialised only when it is new; bbolt's open errors and panics
// on damaged pages become the caller's own sentinels; and a file held by
// another process is reported after a short wait rather than waited on.
package boltfile

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// lockTimeout is how long Open waits for another holder to let go of the
// file: one that was closed releases it at once, so a short wait suffices.
const lockTimeout = 200 * time.Millisecond

// Format describes one kind of file: the header that marks it as its own,
// its data bucket, and the errors to report.
type Format struct {
	// Kind names the file in messages ("spool", "ledger").
	Kind string
	// Magic is the header value that marks a file as this kind.
	Magic string
	// Data is the bucket that holds the file's contents.
	Data []byte
	// Check runs bbolt's consistency check when an existing file is
	// recognised (reading every page: for files read whole anyway).
	Check bool
	// Foreign, Corrupt and Locked are the caller's sentinels for a file
	// of another kind, a damaged one and one held by another process.
	Foreign, Corrupt, Locked error
	// Holder says who may hold a locked file, for its message ("another
	// process, or a Reporter not yet closed").
	Holder string
}

// The header every file carries, in its meta bucket.
var (
	metaBucket   = []byte("dripcel.meta")
	magicKey     = []byte("magic")
	versionKey   = []byte("version")
	versionValue = []byte("1")
)

// File is an open file of one Format. Its methods are safe for concurrent
// use: Close waits for the calls using the database.
type File struct {
	path   string
	format Format
	closed error // returned by Use after Close

	mu sync.RWMutex // guards db against Close while a call uses it
	db *bolt.DB
}

// Open opens the file at path as f's kind, creating it (mode 0600) if it
// does not exist. Errors name the file and wrap one of f's sentinels where
// one applies. After Close, Use returns closed.
func Open(path string, f Format, closed error) (*File, error) {
	db, err := open(path, f)
	if err != nil {
		return nil, err
	}
	return &File{path: path, format: f, closed: closed, db: db}, nil
}

// Path is the file's path.
func (x *File) Path() string { return x.path }

// Use runs fn with the database, turning a panic of bbolt's on a damaged
// page into the format's Corrupt; after Close it returns the closed error.
func (x *File) Use(fn func(db *bolt.DB) error) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.db == nil {
		return x.closed
	}
	return x.format.Guard(func() error { return fn(x.db) })
}

// Close releases the file; closing it again does nothing.
func (x *File) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.db == nil {
		return nil
	}
	err := x.db.Close()
	x.db = nil
	if err != nil {
		return fmt.Errorf("%s %s: close: %w", x.format.Kind, x.path, err)
	}
	return nil
}

func open(path string, f Format) (*bolt.DB, error) {
	info, err := os.Stat(path)
	switch {
	case err == nil && !info.Mode().IsRegular():
		return nil, fmt.Errorf("%s %s: %w: not a regular file", f.Kind, path, f.Foreign)
	case err == nil && info.Size() > 0:
		if err := f.inspect(path); err != nil {
			return nil, err
		}
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("%s %s: %w", f.Kind, path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		return nil, f.openError(path, err)
	}
	if err := f.Guard(func() error { return f.prepare(db) }); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("%s %s: %w", f.Kind, path, err)
	}
	return db, nil
}

// inspect checks, read-only, that the file at path is f's kind and, with
// Check, undamaged.
func (f Format) inspect(path string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, ReadOnly: true})
	if err != nil {
		return f.openError(path, err)
	}
	defer func() { _ = db.Close() }()
	err = f.Guard(func() error {
		return db.View(func(tx *bolt.Tx) error {
			err := f.recognise(tx)
			if err != nil || !f.Check {
				return err
			}
			for cerr := range tx.Check() {
				if err == nil {
					err = fmt.Errorf("%w: %w", f.Corrupt, cerr)
				}
			}
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w; the file was left untouched", f.Kind, path, err)
	}
	return nil
}

// recognise accepts a file of f's kind, and an empty bbolt file (one
// created by Open that crashed before it was initialised); it refuses
// anything else.
func (f Format) recognise(tx *bolt.Tx) error {
	var foreign []byte
	_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		if string(name) != string(metaBucket) && string(name) != string(f.Data) && foreign == nil {
			foreign = append([]byte(nil), name...)
		}
		return nil
	})
	if foreign != nil {
		return fmt.Errorf("%w: it holds bucket %q", f.Foreign, foreign)
	}
	meta := tx.Bucket(metaBucket)
	if meta == nil {
		if tx.Bucket(f.Data) != nil {
			return fmt.Errorf("%w: %s data without a header", f.Corrupt, f.Kind)
		}
		return nil
	}
	if string(meta.Get(magicKey)) != f.Magic {
		return fmt.Errorf("%w: wrong header", f.Foreign)
	}
	if v := meta.Get(versionKey); string(v) != string(versionValue) {
		return fmt.Errorf("%w: format version %q, this program reads %q", f.Foreign, v, versionValue)
	}
	return nil
}

// prepare initialises a new file. One already initialised is only read: a
// write transaction would rewrite its header even with nothing to change,
// and the caller may yet refuse the file for what it holds.
func (f Format) prepare(db *bolt.DB) error {
	ready := false
	if err := db.View(func(tx *bolt.Tx) error {
		if err := f.recognise(tx); err != nil {
			return err
		}
		ready = tx.Bucket(metaBucket) != nil && tx.Bucket(f.Data) != nil
		return nil
	}); err != nil || ready {
		return err
	}
	return db.Update(func(tx *bolt.Tx) error {
		if err := f.recognise(tx); err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		if meta.Get(magicKey) == nil {
			if err := meta.Put(magicKey, []byte(f.Magic)); err != nil {
				return err
			}
			if err := meta.Put(versionKey, versionValue); err != nil {
				return err
			}
		}
		_, err = tx.CreateBucketIfNotExists(f.Data)
		return err
	})
}

// openError turns bbolt's open errors into f's.
func (f Format) openError(path string, err error) error {
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("%s %s: %w (by %s)", f.Kind, path, f.Locked, f.Holder)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch):
		return fmt.Errorf("%s %s: %w (%w); the file was left untouched", f.Kind, path, f.Foreign, err)
	case errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrInvalidMapping):
		return fmt.Errorf("%s %s: %w (%w); the file was left untouched", f.Kind, path, f.Corrupt, err)
	}
	return fmt.Errorf("%s %s: %w", f.Kind, path, err)
}

// Guard runs fn and turns a panic into f's Corrupt: bbolt panics on some
// kinds of damaged page rather than returning an error. A damaged page can
// also point outside the file's memory mapping, where reading it is a
// fault that would kill the process; for the length of fn such a fault is
// a panic too (runtime/debug.SetPanicOnFault, made for memory-mapped files).
func (f Format) Guard(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", f.Corrupt, p)
		}
	}()
	return fn()
}
