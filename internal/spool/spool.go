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

	"github.com/dripcel-go/dripcel/internal/boltfile"
	bolt "go.etcd.io/bbolt"
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

// recordsBucket holds the records.
var recordsBucket = []byte("dripcel.records")

// format is how a spool file is recognised, opened and reported on.
var format = boltfile.Format{
	Kind: "spool", Magic: "dripcel-go spool", Data: recordsBucket, Check: true,
	Foreign: ErrForeign, Corrupt: ErrCorrupt, Locked: ErrLocked,
	Holder: "another process, or a Reporter not yet closed",
}

// Record is one stored record and its position in the log.
type Record struct {
	ID   uint64
	Data []byte
}

// Spool is an open spool file. Its methods are safe for concurrent use.
type Spool struct{ *boltfile.File }

// Open opens the spool at path, creating it if it does not exist. It refuses
// (ErrForeign, ErrCorrupt, ErrLocked) without writing a byte to a file that
// is not a spool, is damaged or is held by someone else.
func Open(path string) (*Spool, error) {
	f, err := boltfile.Open(path, format, ErrClosed)
	if err != nil {
		return nil, err
	}
	return &Spool{f}, nil
}

// Append stores each of records as the next record, in one transaction,
// and returns the ID of the first; the others follow it one by one. The
// records are on disk (fsync'd) when Append returns nil. IDs are never
// reused, across reopening too.
func (s *Spool) Append(records ...[]byte) (first uint64, err error) {
	if len(records) == 0 {
		return 0, nil
	}
	err = s.Use(func(db *bolt.DB) error {
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
		return 0, fmt.Errorf("spool %s: append: %w", s.Path(), err)
	}
	return first, nil
}

// Delete removes the records with the given IDs, in one durable
// transaction. IDs not present are ignored.
func (s *Spool) Delete(ids []uint64) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.Use(func(db *bolt.DB) error {
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
		return fmt.Errorf("spool %s: delete: %w", s.Path(), err)
	}
	return nil
}

// Read returns, in ID order, at most max records whose IDs are above after
// and at most upTo.
func (s *Spool) Read(after, upTo uint64, max int) ([]Record, error) {
	var out []Record
	err := s.Use(func(db *bolt.DB) error {
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
		return nil, fmt.Errorf("spool %s: read: %w", s.Path(), err)
	}
	return out, nil
}

// Stat returns how many records the spool holds and the highest ID ever
// given out (0 for none).
func (s *Spool) Stat() (count int, last uint64, err error) {
	err = s.Use(func(db *bolt.DB) error {
		return db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(recordsBucket)
			count, last = b.Stats().KeyN, b.Sequence()
			return nil
		})
	})
	if err != nil {
		return 0, 0, fmt.Errorf("spool %s: %w", s.Path(), err)
	}
	return count, last, nil
}

func key(id uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], id)
	return k[:]
}
