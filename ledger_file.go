package dripcel

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dripcel-go/dripcel/internal/ledgerdb"
)

// DefaultRetention is how long a FileLedger remembers a sale, counted from
// its soldAt date: 400 days, a year of exports and a month's slack, so that
// a file re-exported for a monthly or yearly reconciliation is still known.
// Dripcel's duplicate rule has no such limit; a sale older than this is
// simply sent, and Dripcel's own 409 settles it (at about a request a sale).
// A ledger holds one entry per sale confirmed within the retention, about
// 50 bytes each on disk (a million sales: about 50 MB).
const DefaultRetention = 400 * 24 * time.Hour

// Pruning: at most pruneBatch expired entries are deleted per write, at
// most once per pruneEvery, so that no write ever waits on a large delete
// and a ledger that stops growing still shrinks.
const (
	pruneBatch = 10_000
	pruneEvery = time.Minute
)

// FileLedger is a Ledger in one file on disk (bbolt): what Dripcel has
// confirmed, for every organisation and base URL a client used it with,
// kept for DefaultRetention (WithRetention) after each sale's soldAt date.
// The file holds only digests (see LedgerKey): neither API keys nor cells.
// Each Add is on disk (fsync'd) before it returns. One process at a time
// may open the file; a FileLedger is safe for concurrent use by the clients
// of that process. Close it when done.
type FileLedger struct {
	db        *ledgerdb.DB
	retention time.Duration
	now       func() time.Time

	mu        sync.Mutex
	lastPrune time.Time
}

// FileLedgerOption configures a FileLedger in OpenFileLedger.
type FileLedgerOption func(*FileLedger) error

// WithRetention sets how long a FileLedger remembers a sale after its
// soldAt date (default DefaultRetention), in whole days, rounded up. A sale
// dated before then is neither found nor written, and older entries are
// deleted as the ledger is written to.
func WithRetention(d time.Duration) FileLedgerOption {
	return func(l *FileLedger) error {
		if d <= 0 {
			return fmt.Errorf("dripcel: WithRetention: %s is not positive", d)
		}
		l.retention = d
		return nil
	}
}

// OpenFileLedger opens the ledger file at path, creating it (readable by
// its owner only) if it does not exist. A file that is not a ledger is
// refused and left untouched; a file another process holds is refused
// after a short wait.
func OpenFileLedger(path string, opts ...FileLedgerOption) (*FileLedger, error) {
	l := &FileLedger{retention: DefaultRetention, now: time.Now}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(l); err != nil {
			return nil, err
		}
	}
	db, err := ledgerdb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dripcel: OpenFileLedger: %w", err)
	}
	l.db = db
	return l, nil
}

// cutoff is the first soldAt date (yyyymmdd) still remembered.
func (l *FileLedger) cutoff() uint32 {
	days := int((l.retention + 24*time.Hour - 1) / (24 * time.Hour))
	y, m, d := l.now().UTC().AddDate(0, 0, -days).Date()
	return uint32(y*10000 + int(m)*100 + d)
}

// Remembers reports whether the ledger keeps a sale sold at soldAt: one
// dated (in soldAt's own location, as it is sent) before the retention is
// neither looked up nor written, and one without a soldAt never is. A
// program can say how many of its sales Dripcel alone settled.
func (l *FileLedger) Remembers(soldAt time.Time) bool {
	if soldAt.IsZero() {
		return false
	}
	y, m, d := soldAt.Date()
	return uint32(y*10000+int(m)*100+d) >= l.cutoff()
}

// Has reports which keys the ledger holds, in one read transaction. A key
// dated before the retention is never held.
func (l *FileLedger) Has(ctx context.Context, keys []LedgerKey) ([]bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	entries, err := entriesOf(keys)
	if err != nil {
		return nil, err
	}
	held, err := l.db.Has(entries)
	if err != nil {
		return nil, fmt.Errorf("dripcel: %w", err)
	}
	cut := l.cutoff()
	for i := range entries {
		if entries[i].Date < cut {
			held[i] = false
		}
	}
	return held, nil
}

// Add remembers keys, in one durable transaction, leaving out those dated
// before the retention; now and then it deletes expired entries in the
// same transaction.
func (l *FileLedger) Add(_ context.Context, keys []LedgerKey) error {
	entries, err := entriesOf(keys)
	if err != nil {
		return err
	}
	cut := l.cutoff()
	kept := entries[:0]
	for _, e := range entries {
		if e.Date >= cut {
			kept = append(kept, e)
		}
	}
	prune := 0
	l.mu.Lock()
	if now := l.now(); now.Sub(l.lastPrune) >= pruneEvery {
		l.lastPrune, prune = now, pruneBatch
	}
	l.mu.Unlock()
	if len(kept) == 0 && prune == 0 {
		return nil
	}
	if _, err := l.db.Add(kept, cut, prune); err != nil {
		return fmt.Errorf("dripcel: %w", err)
	}
	return nil
}

// Len is how many sales the ledger remembers, expired ones not yet deleted
// included.
func (l *FileLedger) Len() (int, error) {
	n, err := l.db.Len()
	if err != nil {
		return 0, fmt.Errorf("dripcel: %w", err)
	}
	return n, nil
}

// Path is the ledger's file.
func (l *FileLedger) Path() string { return l.db.Path() }

// String names the ledger by its file.
func (l *FileLedger) String() string { return "the ledger " + l.db.Path() }

// Close releases the file; another OpenFileLedger may use it at once.
// Calls after Close fail.
func (l *FileLedger) Close() error {
	if err := l.db.Close(); err != nil {
		return fmt.Errorf("dripcel: %w", err)
	}
	return nil
}

// entriesOf converts keys to the file's entries.
func entriesOf(keys []LedgerKey) ([]ledgerdb.Entry, error) {
	entries := make([]ledgerdb.Entry, len(keys))
	for i, k := range keys {
		if k.Date < 10101 || k.Date > 99991231 {
			return nil, errors.New("dripcel: ledger: a key without a soldAt date")
		}
		entries[i] = ledgerdb.Entry{Date: uint32(k.Date), Sum: k.Sum}
	}
	return entries, nil
}
