package dripcel

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"log/slog"
	"reflect"
	"time"

	"github.com/dripcel-go/dripcel/internal/wire"
)

// The ledger: what Dripcel has confirmed, remembered so that it is never
// paid for again.
//
// Dripcel gives no per-sale answer inside a refused batch, so learning that
// a file uploaded again is already in Dripcel costs about one request per
// sale (see settle.go): a 60,000-sale file, 21 hours of the organisation's
// budget. A client with a ledger looks every sale up before it is placed in
// a request and settles the ones held as AlreadyRecorded without sending
// them, and writes each sale Dripcel answered recorded or already recorded
// as each request is answered.

// Ledger remembers the sales Dripcel has confirmed, keyed as Dripcel's
// duplicate rule compares them. A client given one with WithLedger consults
// it on every path (UploadSales, UploadSalesSeq, Postback and so a
// Reporter): a sale it holds is settled AlreadyRecorded without a request,
// and a sale Dripcel answers recorded or already recorded is added to it.
//
// FileLedger keeps one in a file; package dripcelpg keeps one in
// PostgreSQL, which a fleet shares. Methods take a batch of keys (a
// request's worth or so) so that an implementation spends one round trip
// per batch, and may be called from several goroutines at once.
//
// A ledger never costs a sale: if Has fails the sales are sent (Dripcel's
// own 409 still settles a repeat), and if Add fails the failure is logged
// at Warn and the upload goes on.
type Ledger interface {
	// Has reports, for each key, whether the ledger holds it; the slice
	// returned has one entry per key.
	Has(ctx context.Context, keys []LedgerKey) ([]bool, error)
	// Add remembers keys: Dripcel has each of these sales. Adding a key
	// already held is not an error.
	Add(ctx context.Context, keys []LedgerKey) error
}

// LedgerKey is one sale as a Ledger knows it: what Dripcel's duplicate rule
// compares (which identifier and its value, the cell as sent, the soldAt
// date), scoped to the client's organisation and base URL, reduced to a
// digest. It holds neither the API key nor the cell: a ledger's contents
// reveal neither.
type LedgerKey struct {
	// Date is the sale's soldAt date as yyyymmdd (20251014), in the
	// time's own location, as it is sent. Ledgers expire entries by it.
	Date int
	// Sum is the first 16 bytes of SHA-256 over the client's scope (itself
	// SHA-256 of the API key and base URL), the identifier's kind and
	// value, the cell as sent and Date.
	Sum [16]byte
}

// ErrKnownFromLedger: the sale was not sent, because the client's Ledger
// holds it: Dripcel confirmed it to this organisation earlier. Errors
// matching it also match ErrDuplicateSale, and the sale's Fate is
// AlreadyRecorded. Tell it apart from Dripcel's own 409 to count sales
// "already in Dripcel, known from earlier uploads" separately; send them
// anyway with WithLedgerResend.
var ErrKnownFromLedger = errors.New("dripcel: already recorded (known from the ledger)")

// errKnown is the cause given to every sale settled from the ledger.
var errKnown error = knownError{}

// knownError matches ErrKnownFromLedger and ErrDuplicateSale.
type knownError struct{}

func (knownError) Error() string {
	return "dripcel: duplicate sale: known from the ledger (Dripcel confirmed it earlier), not sent"
}

func (knownError) Is(target error) bool {
	return target == ErrKnownFromLedger || target == ErrDuplicateSale
}

// WithLedger makes the client consult l before sending a sale and record
// in l every sale Dripcel answers recorded or already recorded (see
// Ledger). A sale without a SoldAt is neither looked up nor recorded:
// Dripcel stamps it with its own "now", so whether it repeats an earlier
// one depends on the day it arrives. The client does not close l.
func WithLedger(l Ledger) Option {
	return func(c *config) error {
		if l == nil || isNilPointer(l) {
			return errors.New("dripcel: WithLedger: nil Ledger")
		}
		c.ledger = l
		return nil
	}
}

// isNilPointer reports whether v is a nil pointer in an interface: a
// typed nil (a *dripcelpg.Ledger never opened) would panic on first use.
func isNilPointer(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// WithLedgerResend makes a client with a ledger send every sale, held or
// not, and still record Dripcel's answers in the ledger: to send again
// sales the ledger holds (a campaign's sales deleted in Dripcel, say).
// Dripcel answers 409 for those it does have.
func WithLedgerResend() Option {
	return func(c *config) error {
		c.ledgerResend = true
		return nil
	}
}

// ledgerScope is what a ledger key is scoped by: SHA-256 of the API key and
// the base URL, so that one ledger can serve several organisations (and a
// test server beside the real one) without their sales meeting, and the key
// itself is never stored.
func ledgerScope(key, base string) [32]byte {
	h := sha256.New()
	h.Write([]byte("dripcel-go ledger scope v1\x00"))
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write([]byte(base))
	var s [32]byte
	h.Sum(s[:0])
	return s
}

// LedgerKey returns the key a Ledger knows s by under this client (its
// organisation, its base URL, its cell region), and false when s has no
// SoldAt, is invalid, or the client has no ledger.
func (c *Client) LedgerKey(s Sale) (LedgerKey, bool) {
	if c.ledger == nil {
		return LedgerKey{}, false
	}
	var f wire.Fields
	if err := c.wireFields(&s, -1, &f); err != nil {
		return LedgerKey{}, false
	}
	k := c.ledgerKey(&f)
	return k, k.Date != 0
}

// ledgerKey is f's key; Date is 0 when f has no soldAt. The identifier
// chosen and the date are those of keyOf (repeats.go): the ledger and an
// upload's own repeats follow the same rule.
func (c *Client) ledgerKey(f *wire.Fields) LedgerKey {
	k := keyOf(f)
	if k.date == 0 {
		return LedgerKey{}
	}
	// scope, kind, the two strings each after its length, the date.
	var stack [160]byte
	buf := append(stack[:0], c.scope[:]...)
	buf = append(buf, byte(k.kind))
	buf = binary.AppendUvarint(buf, uint64(len(k.id)))
	buf = append(buf, k.id...)
	buf = binary.AppendUvarint(buf, uint64(len(k.cell)))
	buf = append(buf, k.cell...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(k.date))
	sum := sha256.Sum256(buf)
	key := LedgerKey{Date: k.date}
	copy(key.Sum[:], sum[:])
	return key
}

// ledgerTimeout bounds a ledger write made after the caller's context has
// ended: Dripcel's answer is worth recording even then.
const ledgerTimeout = 10 * time.Second

// ledgerHas looks keys up, keys with no date counting as not held. A failure
// is logged and read as "none held": the sales are then sent, and Dripcel's
// own 409 settles those it has.
func (c *Client) ledgerHas(ctx context.Context, keys []LedgerKey) []bool {
	var dated []LedgerKey
	var at []int
	for i, k := range keys {
		if k.Date != 0 {
			dated = append(dated, k)
			at = append(at, i)
		}
	}
	held := make([]bool, len(keys))
	if len(dated) == 0 {
		return held
	}
	got, err := c.ledger.Has(ctx, dated)
	if err == nil && len(got) != len(dated) {
		err = errors.New("the ledger answered for a different number of sales")
	}
	if err != nil {
		if ctx.Err() == nil {
			c.logger.LogAttrs(ctx, slog.LevelWarn, "dripcel: reading the ledger failed; the sales are sent",
				slog.Int("sales", len(dated)), slog.String("error", err.Error()))
		}
		return held
	}
	for j, h := range got {
		held[at[j]] = h
	}
	return held
}

// ledgerAdd records keys (those with a date) as Dripcel's, even when ctx
// has ended. A failure is logged: the sales are in Dripcel whatever the
// ledger says, and sent again they are answered 409.
func (c *Client) ledgerAdd(ctx context.Context, keys []LedgerKey) {
	dated := keys[:0:0]
	for _, k := range keys {
		if k.Date != 0 {
			dated = append(dated, k)
		}
	}
	if len(dated) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ledgerTimeout)
	defer cancel()
	if err := c.ledger.Add(ctx, dated); err != nil {
		c.logger.LogAttrs(ctx, slog.LevelWarn, "dripcel: writing to the ledger failed; sent again, these sales will be answered as duplicates",
			slog.Int("sales", len(dated)), slog.String("error", err.Error()))
	}
}

// pendingSale is a sale of an upload waiting for the ledger lookup of its
// group.
type pendingSale struct {
	i      int
	fields wire.Fields
	key    LedgerKey
}

// ledgerGroup is how many sales an upload looks up in one call to the
// ledger: a few requests' worth, so a lookup costs one read transaction (or
// round trip) per thousand sales while an upload still holds little.
const ledgerGroup = 1024

// lookingUp reports whether the upload consults the ledger before sending.
func (u *uploader) lookingUp() bool { return u.c.ledger != nil && !u.c.ledgerResend }

// hold keeps f, the sale at index i, for the next ledger lookup, and looks
// the group up when it is full. It reports false when the upload cannot go
// on.
func (u *uploader) hold(i int, f *wire.Fields) bool {
	p := pendingSale{i: i, fields: *f, key: u.c.ledgerKey(f)}
	if f.SaleValue != nil {
		v := *f.SaleValue // the caller may reuse what it points to
		p.fields.SaleValue = &v
	}
	u.pending = append(u.pending, p)
	if len(u.pending) < ledgerGroup {
		return true
	}
	return u.lookUp()
}

// lookUp looks the held sales up, settles those the ledger holds and pushes
// the others, in order. It reports false when the upload cannot go on.
func (u *uploader) lookUp() bool {
	pending := u.pending
	u.pending = u.pending[:0]
	if len(pending) == 0 {
		return true
	}
	keys := make([]LedgerKey, len(pending))
	for k := range pending {
		keys[k] = pending[k].key
	}
	held := u.c.ledgerHas(u.ctx, keys)
	for k := range pending {
		if held[k] {
			u.known = append(u.known, pending[k].i)
		}
	}
	for k := range pending {
		if held[k] {
			continue
		}
		if !u.push(pending[k].i, &pending[k].fields, u.send) {
			return false
		}
	}
	return true
}

// remember records in the ledger the sales of b at positions ps, which
// Dripcel has just answered recorded or already recorded.
func (u *uploader) remember(b *batch, ps []int) {
	if u.c.ledger == nil {
		return
	}
	keys := make([]LedgerKey, 0, len(ps))
	for _, p := range ps {
		keys = append(keys, b.keys[p])
	}
	u.c.ledgerAdd(u.ctx, keys)
}

// notSentRuns is the run first..last of sales not sent, less the indexes
// settled from the ledger (ascending), as NotDelivered runs with cause.
func notSentRuns(first, last int, known []int, cause error) []*BatchError {
	var runs []*BatchError
	at := first
	for _, k := range known {
		if k < at || k > last {
			continue
		}
		if k > at {
			runs = append(runs, &BatchError{First: at, Last: k - 1, Fate: NotDelivered, Err: cause})
		}
		at = k + 1
	}
	if at <= last {
		runs = append(runs, &BatchError{First: at, Last: last, Fate: NotDelivered, Err: cause})
	}
	return runs
}
