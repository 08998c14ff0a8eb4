// Package ledgerdb is the file behind dripcel.FileLedger: a set of
// fixed-size entries (a sale's soldAt date and a digest of the sale) in one
// bbolt file.
//
// An entry's key is its date, big-endian, then its digest, so that entries
// sort by date and the expired ones are the first of the bucket: pruning
// reads from the start and stops at the first entry still kept, whatever
// the file's size. The file holds digests only, never a cell number or an
// identifier.
//
// bbolt is used, as for the Reporter's spool, because every Add is a
// transaction committed with fsync before it returns and a torn write
// leaves the previous state intact. A file that is not a ledger is refused
// and left exactly as it was.
package ledgerdb

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dripcel-go/dripcel/internal/boltfile"
	bolt "go.etcd.io/bbolt"
)

// Errors a caller may want to tell apart; returned errors wrap them.
var (
	// ErrForeign: the file exists but is not a ledger written by this
	// package.
	ErrForeign = errors.New("not a dripcel ledger file")
	// ErrLocked: another process, or another open DB in this one, holds
	// the file.
	ErrLocked = errors.New("ledger file is in use")
	// ErrClosed: the DB was closed.
	ErrClosed = errors.New("ledger is closed")
)

// entriesBucket holds the entries.
var entriesBucket = []byte("dripcel.ledger")

// format is how a ledger file is recognised, opened and reported on. A
// damaged ledger is reported as foreign: either way the caller is told to
// move it aside, and nothing in it is worth more than the requests it saves.
var format = boltfile.Format{
	Kind: "ledger", Magic: "dripcel-go ledger", Data: entriesBucket,
	Foreign: ErrForeign, Corrupt: ErrForeign, Locked: ErrLocked,
	Holder: "another process, or a ledger not yet closed",
}

// SumSize is the size of an entry's digest.
const SumSize = 16

// keySize is an entry's key: the date, then the digest.
const keySize = 4 + SumSize

// Entry is one sale: its soldAt date as yyyymmdd, and its digest.
type Entry struct {
	Date uint32
	Sum  [SumSize]byte
}

func (e *Entry) key(k *[keySize]byte) []byte {
	binary.BigEndian.PutUint32(k[:4], e.Date)
	copy(k[4:], e.Sum[:])
	return k[:]
}

// DB is an open ledger file. Its methods are safe for concurrent use.
type DB struct{ *boltfile.File }

// Open opens the ledger at path, creating it (mode 0600) if it does not
// exist. A file that is not a ledger is refused without a byte written.
func Open(path string) (*DB, error) {
	f, err := boltfile.Open(path, format, ErrClosed)
	if err != nil {
		return nil, err
	}
	return &DB{f}, nil
}

// Has reports, for each entry, whether the ledger holds it, in one read
// transaction.
func (d *DB) Has(entries []Entry) ([]bool, error) {
	held := make([]bool, len(entries))
	var k [keySize]byte
	err := d.Use(func(db *bolt.DB) error {
		return db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(entriesBucket)
			for i := range entries {
				held[i] = b.Get(entries[i].key(&k)) != nil
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("ledger %s: read: %w", d.Path(), err)
	}
	return held, nil
}

// Add stores entries and, in the same durable transaction, deletes at most
// pruneMax entries dated before pruneBefore (none when pruneMax is 0). It
// returns how many it deleted.
func (d *DB) Add(entries []Entry, pruneBefore uint32, pruneMax int) (pruned int, err error) {
	var k [keySize]byte
	err = d.Use(func(db *bolt.DB) error {
		return db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(entriesBucket)
			for i := range entries {
				if err := b.Put(entries[i].key(&k), []byte{}); err != nil {
					return err
				}
			}
			// Collected first, then deleted: a bbolt cursor may skip keys
			// when its bucket changes under it.
			var expired [][]byte
			c := b.Cursor()
			for key, _ := c.First(); key != nil && len(expired) < pruneMax; key, _ = c.Next() {
				if len(key) != keySize || binary.BigEndian.Uint32(key[:4]) >= pruneBefore {
					break
				}
				expired = append(expired, append([]byte(nil), key...))
			}
			for _, key := range expired {
				if err := b.Delete(key); err != nil {
					return err
				}
			}
			pruned = len(expired)
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("ledger %s: write: %w", d.Path(), err)
	}
	return pruned, nil
}

// Len is how many entries the ledger holds.
func (d *DB) Len() (int, error) {
	var n int
	err := d.Use(func(db *bolt.DB) error {
		return db.View(func(tx *bolt.Tx) error {
			n = tx.Bucket(entriesBucket).Stats().KeyN
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("ledger %s: %w", d.Path(), err)
	}
	return n, nil
}
