package apiclient

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"github.com/dripcel-go/dripcel/internal/ledgerdb"
	"github.com/spf13/cobra"
)

// LedgerFlags are --ledger, --no-ledger and --resend: which ledger of the
// sales Dripcel confirmed a command consults and writes, if any.
type LedgerFlags struct {
	Path   string
	Off    bool
	Resend bool
}

// LedgerHelp says what the ledger is and where it lives, for a command's
// long help.
const LedgerHelp = `A ledger remembers each row Dripcel confirmed (recorded, or already had),
by what Dripcel's duplicate rule compares: the identifier, the cell and the
soldAt date, as one-way digests (no key, no cell). A row the ledger holds is
not sent again: the summary counts it as already in Dripcel, known from
earlier uploads, so a file uploaded twice costs no requests the second
time. Dripcel tells which rows of a refused request it had only when asked
about each alone, so without the ledger that second upload would cost
about a request a row. The ledger is one file per API key and address, in
your cache directory (` + LedgerDirHelp + `),
named by a digest of both; --ledger PATH chooses another file, --no-ledger
uses none, and --resend sends the rows it holds anyway (a campaign's sales
deleted in Dripcel, say) and still remembers the answers. Entries are kept
400 days after each sale's soldAt date. One upload at a time may use a
ledger file: a second one of the same organisation stops before sending,
naming --no-ledger. A blank soldAt is read as the time of the run (--sold-at
sets it), and remembered under that date: a run on another day dates such
rows anew, so give --sold-at to upload them again as they were.`

// LedgerDirHelp is where the default ledger files live, by system.
const LedgerDirHelp = `dripcel/ledger-<digest>.db under $XDG_CACHE_HOME or ~/.cache on Linux,
~/Library/Caches on macOS, %LocalAppData% on Windows`

// Register adds the flags to cmd.
func (l *LedgerFlags) Register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&l.Path, "ledger", "", "the ledger file of the rows Dripcel confirmed (default: one per API key and address in your cache directory; see above)")
	fl.BoolVar(&l.Off, "no-ledger", false, "use no ledger: send every row, remember nothing")
	fl.BoolVar(&l.Resend, "resend", false, "send the rows the ledger holds too (known from earlier uploads); their answers are still remembered")
}

// ledgerScopeTag keeps ledger file names apart from any other digest of the
// key: a name can then never stand for anything but a ledger.
const ledgerScopeTag = "dripcel-cli ledger file v1\x00"

// DefaultLedgerPath is the ledger file of key at base (empty: Dripcel's own
// address) under the user's cache directory cacheDir. The name is a digest of
// both, never the key: a key's file is found again by every run, and another
// key or a test server beside the real one has a file of its own, though
// the file would keep them apart anyway.
func DefaultLedgerPath(cacheDir, key, base string) string {
	if base == "" {
		base = dripcel.DefaultBaseURL
	}
	sum := sha256.Sum256([]byte(ledgerScopeTag + key + "\x00" + strings.TrimRight(base, "/")))
	return filepath.Join(cacheDir, "dripcel", "ledger-"+hex.EncodeToString(sum[:6])+".db")
}

// NewClientWithLedger is NewClient with the ledger l chooses, opened before
// the client is made so that a ledger in use by another run stops this one
// before anything is read or sent. The ledger is nil when none is used; the
// caller closes it after the client's last call. Warnings (no cache
// directory, say) go to warn.
func (f *Flags) NewClientWithLedger(l *LedgerFlags, warn *cli.Printer, opts ...dripcel.Option) (*dripcel.Client, *dripcel.FileLedger, error) {
	key, base, err := f.resolve()
	if err != nil {
		return nil, nil, err
	}
	ledger, err := l.open(key, base, warn)
	if err != nil {
		return nil, nil, err
	}
	if ledger != nil {
		opts = append(opts, dripcel.WithLedger(ledger))
		if l.Resend {
			opts = append(opts, dripcel.WithLedgerResend())
		}
	}
	c, err := f.newClient(key, base, opts)
	if err != nil {
		if ledger != nil {
			_ = ledger.Close()
		}
		return nil, nil, err
	}
	return c, ledger, nil
}

// open opens the ledger the flags choose, or returns nil for none.
//
// A ledger saves requests; it is not what keeps a row from being recorded
// twice (Dripcel's own 409 does). So the default ledger that cannot be made
// (no cache directory, one that cannot be written) is a warning, and the
// run goes on without one rather than failing a job that worked before. But
// a ledger held by another run is an error: that is most likely another
// upload of this organisation, and the two would share one budget; and a
// file that is not a ledger is one the user must look at. A file named
// with --ledger is the user's choice: any failure to open it is an error.
func (l *LedgerFlags) open(key, base string, warn *cli.Printer) (*dripcel.FileLedger, error) {
	if l.Off {
		// With either of the others it is a mistake to point out, not a
		// choice to make silently.
		switch {
		case l.Path != "":
			return nil, cli.Usage("--no-ledger and --ledger %s: choose one; nothing was sent", l.Path)
		case l.Resend:
			return nil, cli.Usage("--no-ledger and --resend: without a ledger every row is sent anyway; choose one; nothing was sent")
		}
		return nil, nil
	}
	if l.Path != "" {
		if err := os.MkdirAll(filepath.Dir(l.Path), 0o700); err != nil {
			return nil, cli.Usage("--ledger %s: %v; nothing was sent", l.Path, unwrapPath(err))
		}
		ledger, err := dripcel.OpenFileLedger(l.Path)
		if err != nil {
			return nil, ledgerError("--ledger "+l.Path, err)
		}
		return ledger, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		warn.Printf("dripcel: warning: no ledger, so rows Dripcel confirmed earlier are sent again: %v "+
			"(give --ledger PATH to keep one, or --no-ledger to say none is wanted)\n", err)
		return nil, nil
	}
	path := DefaultLedgerPath(dir, key, base)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		warn.Printf("dripcel: warning: no ledger, so rows Dripcel confirmed earlier are sent again: %v "+
			"(give --ledger PATH to keep one elsewhere, or --no-ledger to say none is wanted)\n", unwrapPath(err))
		return nil, nil
	}
	ledger, err := dripcel.OpenFileLedger(path)
	switch {
	case err == nil:
		return ledger, nil
	case errors.Is(err, ledgerdb.ErrLocked), errors.Is(err, ledgerdb.ErrForeign):
		return nil, ledgerError("the ledger "+path, err)
	}
	warn.Printf("dripcel: warning: no ledger, so rows Dripcel confirmed earlier are sent again: %s "+
		"(give --ledger PATH to keep one elsewhere, or --no-ledger to say none is wanted)\n", cli.WithoutGoNames(err))
	return nil, nil
}

// ledgerError is the usage error for a ledger that cannot be opened: it
// names the file and what to do.
func ledgerError(what string, err error) error {
	switch {
	case errors.Is(err, ledgerdb.ErrLocked):
		return cli.Usage("%s is in use by another run (another upload with this key?): "+
			"let it finish, or give --no-ledger to send without one (rows Dripcel has are then sent again and answered as duplicates); nothing was sent", what)
	case errors.Is(err, ledgerdb.ErrForeign):
		return cli.Usage("%s is not a dripcel ledger file (it was left untouched): "+
			"move it aside, give --ledger PATH for another file, or --no-ledger; nothing was sent", what)
	}
	return cli.Usage("%s; nothing was sent", cli.WithoutGoNames(err))
}

// unwrapPath drops the operation of a *PathError, which names the path
// already: "mkdir /x: permission denied" reads "/x: permission denied".
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}
