// Package spool is the Reporter's durable queue: an append-only log of
// records in one bbolt file, read back in the order written and deleted once
// settled.
//
// bbolt is used because a spool must survive a crash at any instant: every
// Append is a transaction committed with fsync before it returns, and a torn
// write leaves the previous state intact (bbolt keeps two meta pages and
// never overwrites live pages). A file that is not a spool, or is damaged, is
// refused and left exactly as it was.
package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Errors a caller may want to tell apart; the returned error wraps one of
// them and says more.
var (
	// ErrForeign: the file exists but is not a spool written by this package.
	ErrForeign = errors.New("not a dripcel spool file")
	// ErrCorrupt: the file is a spool (or bbolt file) whose contents are
	// damaged.
	ErrCorrupt = errors.New("spool file is corrupt")
	// ErrLocked: another process, or another open Spool in this one, holds
	// the file.
	ErrLocked = errors.New("spool file is in use")
	// ErrClosed: the Spool was closed.
	ErrClosed = errors.New("spool is closed")
)

// Names written into every spool, so that a file can be recognised as one.
var (
	metaBucket    = []byte("dripcel.meta")
	recordsBucket = []byte("dripcel.records")
	magicKey      = []byte("magic")
	magicValue    = []byte("dripcel-go spool")
	versionKey    = []byte("version")
	versionValue  = []byte("1")
)

// lockTimeout is how long Open waits for another holder to let go of the
// file before reporting ErrLocked. A Reporter that was closed releases it at
// once, so a short wait suffices.
const lockTimeout = 200 * time.Millisecond

// Record is one stored record and its position in the log.
type Record struct {
	ID   uint64
	Data []byte
}

// Spool is an open spool file. Its methods are safe for concurrent use.
type Spool struct {
	path string

	mu sync.RWMutex // guards db against Close while a call uses it
	db *bolt.DB
}

// Open opens the spool at path, creating it if it does not exist. It refuses
// (ErrForeign, ErrCorrupt, ErrLocked) without writing a byte to a file that
// is not a spool, is damaged or is held by someone else.
func Open(path string) (*Spool, error) {
	info, err := os.Stat(path)
	switch {
	case err == nil && !info.Mode().IsRegular():
		return nil, fmt.Errorf("spool %s: %w: not a regular file", path, ErrForeign)
	case err == nil && info.Size() > 0:
		// Inspect read-only first: opening a bbolt file for writing may
		// write to it (a freelist), which a foreign file must never see.
		if err := inspect(path); err != nil {
			return nil, err
		}
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("spool %s: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		return nil, openError(path, err)
	}
	s := &Spool{path: path, db: db}
	if err := guard(func() error { return prepare(db) }); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("spool %s: %w", path, err)
	}
	return s, nil
}

// inspect checks, read-only, that the file at path is an undamaged spool.
func inspect(path string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, ReadOnly: true})
	if err != nil {
		return openError(path, err)
	}
	defer func() { _ = db.Close() }()
	err = guard(func() error {
		return db.View(func(tx *bolt.Tx) error {
			if err := recognise(tx); err != nil {
				return err
			}
			for cerr := range tx.Check() {
				if err == nil {
					err = fmt.Errorf("%w: %w", ErrCorrupt, cerr)
				}
			}
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("spool %s: %w; the file was left untouched", path, err)
	}
	return nil
}

// recognise accepts a spool of this format, and an empty bbolt file (one
// created by Open that crashed before it was initialised); it refuses
// anything else.
func recognise(tx *bolt.Tx) error {
	var foreign []string
	if err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		if string(name) != string(metaBucket) && string(name) != string(recordsBucket) {
			foreign = append(foreign, fmt.Sprintf("%q", name))
		}
		return nil
	}); err != nil {
		return err
	}
	if len(foreign) > 0 {
		return fmt.Errorf("%w: it holds bucket %s", ErrForeign, foreign[0])
	}
	meta := tx.Bucket(metaBucket)
	if meta == nil {
		if tx.Bucket(recordsBucket) != nil {
			return fmt.Errorf("%w: records without a header", ErrCorrupt)
		}
		return nil
	}
	if string(meta.Get(magicKey)) != string(magicValue) {
		return fmt.Errorf("%w: wrong header", ErrForeign)
	}
	if v := meta.Get(versionKey); string(v) != string(versionValue) {
		return fmt.Errorf("%w: format version %q, this program reads %q", ErrForeign, v, versionValue)
	}
	return nil
}

// prepare initialises a new spool. A spool already initialised is only
// read: a write transaction would rewrite its header even with nothing to
// change, and the caller may yet refuse the file for what its records hold.
func prepare(db *bolt.DB) error {
	ready := false
	if err := db.View(func(tx *bolt.Tx) error {
		if err := recognise(tx); err != nil {
			return err
		}
		ready = tx.Bucket(metaBucket) != nil && tx.Bucket(recordsBucket) != nil
		return nil
	}); err != nil || ready {
		return err
	}
	return db.Update(initialise)
}

func initialise(tx *bolt.Tx) error {
	if err := recognise(tx); err != nil {
		return err
	}
	meta, err := tx.CreateBucketIfNotExists(metaBucket)
	if err != nil {
		return err
	}
	if meta.Get(magicKey) == nil {
		if err := meta.Put(magicKey, magicValue); err != nil {
			return err
		}
		if err := meta.Put(versionKey, versionValue); err != nil {
			return err
		}
	}
	_, err = tx.CreateBucketIfNotExists(recordsBucket)
	return err
}

// openError turns bbolt's open errors into this package's.
func openError(path string, err error) error {
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("spool %s: %w (by another process, or a Reporter not yet closed)", path, ErrLocked)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch):
		return fmt.Errorf("spool %s: %w (%w); the file was left untouched", path, ErrForeign, err)
	case errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrInvalidMapping):
		return fmt.Errorf("spool %s: %w (%w); the file was left untouched", path, ErrCorrupt, err)
	}
	return fmt.Errorf("spool %s: %w", path, err)
}

// guard runs fn and turns a panic into ErrCorrupt: bbolt panics on some
// kinds of damaged page rather than returning an error.
func guard(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrCorrupt, p)
		}
	}()
	return fn()
}

// Path is the file the spool lives in.
func (s *Spool) Path() string { return s.path }

// use runs fn with the database, or returns ErrClosed.
func (s *Spool) use(fn func(db *bolt.DB) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return ErrClosed
	}
	return guard(func() error { return fn(s.db) })
}

// Append stores each of records as the next record, in one transaction,
// and returns the ID of the first; the others follow it one by one. The
// records are on disk (fsync'd) when Append returns nil. IDs are never
// reused, across reopening too.
func (s *Spool) Append(records ...[]byte) (first uint64, err error) {
	if len(records) == 0 {
		return 0, nil
	}
	err = s.use(func(db *bolt.DB) error {
		return db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(recordsBucket)
			for i, data := range records {
				id, err := b.NextSequence()
				if err != nil {
					return err
				}
				if i == 0 {
					first = id
				}
				if err := b.Put(key(id), data); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("spool %s: append: %w", s.path, err)
	}
	return first, nil
}

// Delete removes the records with the given IDs, in one durable
// transaction. IDs not present are ignored.
func (s *Spool) Delete(ids []uint64) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.use(func(db *bolt.DB) error {
		return db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(recordsBucket)
			for _, id := range ids {
				if err := b.Delete(key(id)); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("spool %s: delete: %w", s.path, err)
	}
	return nil
}

// Read returns, in ID order, at most max records whose IDs are above after
// and at most upTo.
func (s *Spool) Read(after, upTo uint64, max int) ([]Record, error) {
	var out []Record
	err := s.use(func(db *bolt.DB) error {
		return db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket(recordsBucket).Cursor()
			for k, v := c.Seek(key(after + 1)); k != nil && len(out) < max; k, v = c.Next() {
				if len(k) != 8 {
					return fmt.Errorf("%w: record key of %d bytes", ErrCorrupt, len(k))
				}
				id := binary.BigEndian.Uint64(k)
				if id > upTo {
					break
				}
				out = append(out, Record{ID: id, Data: append([]byte(nil), v...)})
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("spool %s: read: %w", s.path, err)
	}
	return out, nil
}

// Stat returns how many records the spool holds and the highest ID ever
// given out (0 for none).
func (s *Spool) Stat() (count int, last uint64, err error) {
	err = s.use(func(db *bolt.DB) error {
		return db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(recordsBucket)
			count, last = b.Stats().KeyN, b.Sequence()
			return nil
		})
	})
	if err != nil {
		return 0, 0, fmt.Errorf("spool %s: %w", s.path, err)
	}
	return count, last, nil
}

// Close releases the file: another Open may use it at once. Records stay.
// Close waits for calls in progress; calls after it return ErrClosed.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return nil
	}
	err := s.db.Close()
	s.db = nil
	if err != nil {
		return fmt.Errorf("spool %s: close: %w", s.path, err)
	}
	return nil
}

func key(id uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], id)
	return k[:]
}
