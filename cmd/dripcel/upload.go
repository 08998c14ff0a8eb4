package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/spf13/cobra"
)

// defaultBatchRows is how many rows the command hands the library at a
// time; the library cuts requests by size within it.
const defaultBatchRows = 200

// uploadFlags are upload's flags.
type uploadFlags struct {
	client   clientFlags
	maps     []string
	campaign string
	region   string
	format   string
	rejects  string
	dryRun   bool
	quiet    bool
	batch    int
	// fromRow is the first row read (0 or 1: all of them).
	fromRow int
	// rateLimitWait bounds the pauses for Dripcel's rate limit.
	rateLimitWait time.Duration
}

func newUploadCmd(std streams) *cobra.Command {
	var f uploadFlags
	cmd := &cobra.Command{
		Use:   "upload FILE",
		Short: "Upload a CSV, JSON or JSON-lines file of sales",
		Long: `Upload every sale in FILE (or standard input, "-") with POST /sales.

FILE is a CSV file with a header row, a JSON array of objects, or JSON lines
(one object a line), told apart by the extension (.csv, .json, .jsonl) or
else by the first character. Columns and keys are named as Dripcel names them:

  campaign_id  required, unless --campaign gives it
  cell         required; local (0631231234) or international (27631231234)
  send_id      optional
  click_id     optional
  soldAt       optional; YYYY-MM-DD or YYYY-MM-DD HH:MM:SS (blank: now)
  saleValue    optional; a number such as 199.99 (blank: the campaign default)

Other columns are ignored. Use --map to read fields from other columns. CSV
files may start with a UTF-8 byte order mark, use CRLF line ends, quote
fields and use ";" or tabs between fields.

Every row is checked before anything is sent: a malformed row (a bad
number or date, a missing cell) stops the upload with exit code 2, lists the
rows at fault, and sends nothing. The file is read as a stream, so files of
millions of rows upload in bounded memory.

Rows are sent --batch-size at a time. When Dripcel refuses a batch (409
duplicate, 404 campaign not found, another 4xx), its rows are sent again one
at a time, so that each row is classed exactly: accepted, duplicate (Dripcel
already has a sale with the same cell, campaign and soldAt date), campaign
not found, invalid, or failed. The summary gives the counts and the first row
numbers of each; --rejects FILE gets every row not accepted, in the input's
format, with "row" and "reason" columns added, ready to fix and send again.
(Dripcel does not say whether it stores the other rows of a batch it
refuses; if it does, they come back as duplicates when sent again: they are
in Dripcel either way. --batch-size 1 avoids the question, at the cost of
one request a row.)

When Dripcel's rate limit (about 50 requests a minute) still refuses a
request after the retries, upload pauses and sends it again, for up to
--rate-limit-wait in all.

Row numbers are line numbers in CSV and JSON-lines files (the CSV header is
row 1) and positions in a JSON array (the first object is row 1).

Ctrl-C stops reading: the batch in flight is finished, the summary printed
and the rejects file written (rows read but not sent are in it); a second
Ctrl-C abandons the batch in flight.

An upload that stopped early (Ctrl-C, a refused key, a network failure)
says which row to go on from: run the same command again with --from-row
N, and the rows before N are skipped: read, so they must still be
readable, but neither checked nor sent.

` + exitCodesHelp,
		Example: `  # A CSV export with the columns named as Dripcel names them:
  export DRIPCEL_API_KEY=...
  dripcel upload --region ZA --rejects rejects.csv sales.csv

  # sales.csv:
  #   campaign_id,cell,soldAt,saleValue
  #   639978184d735c88ed8bbd68,063 123 1234,2025-10-14,199.99
  #   639978184d735c88ed8bbd68,0821234567,2025-10-14 09:02:51,

  # A spreadsheet with its own headings, all rows for one campaign:
  dripcel upload --campaign 639978184d735c88ed8bbd68 --map cell=Phone,saleValue=Amount orders.csv

  # Check a file without sending anything (no key needed):
  dripcel upload --dry-run --region ZA sales.jsonl

  # From another program, as JSON lines on standard input:
  export-sales --since yesterday | dripcel upload --quiet -

  # Go on after an upload that stopped at row 5001:
  dripcel upload --region ZA --from-row 5001 sales.csv`,
		Args: exactArgs(1, "upload needs one FILE (or - for standard input)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUpload(cmd.Context(), std, &f, args[0])
		},
	}
	f.client.register(cmd)
	fl := cmd.Flags()
	fl.StringSliceVar(&f.maps, "map", nil, "read a field from another column: FIELD=COLUMN[,FIELD=COLUMN…], e.g. cell=Phone,campaign_id=Campaign")
	fl.StringVar(&f.campaign, "campaign", "", "campaign ID for every row (a campaign_id column is then ignored)")
	fl.StringVar(&f.region, "region", "", "convert local cells to international digits for this region, e.g. ZA (needed for Campaigns V2)")
	fl.StringVar(&f.format, "format", "auto", "input format: csv, json, jsonl or auto")
	fl.StringVar(&f.rejects, "rejects", "", "write every row not accepted, with its row number and reason, to this file")
	fl.BoolVar(&f.dryRun, "dry-run", false, "check and convert every row, send nothing (needs no key)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "show no progress (the summary is still printed)")
	fl.IntVar(&f.batch, "batch-size", defaultBatchRows, "rows per request at most")
	fl.IntVar(&f.fromRow, "from-row", 0, "skip the rows before this row number (to go on after a stop)")
	fl.DurationVar(&f.rateLimitWait, "rate-limit-wait", 10*time.Minute, rateLimitHelp)
	return cmd
}

// exactArgs is cobra.ExactArgs with a message that says what is wanted.
func exactArgs(n int, msg string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError("%s", msg)
		}
		return nil
	}
}

// upload is one run of the upload command.
type upload struct {
	std      streams
	flags    *uploadFlags
	m        *mapping
	in       *input
	client   *dripcel.Client
	rejects  *rejects
	progress progress
	tally    tally
	// lastRow is the last row read; stopped says reading ended early.
	// resume is the first row that failed or was not sent (0: none).
	lastRow     int
	resume      int
	stopped     bool
	interrupted atomic.Bool
	// stop is closed by the first Ctrl-C, to end a rate-limit pause.
	stop chan struct{}
	// batches counts requests, to tell them apart; waited sums the
	// rate-limit pauses.
	batches int
	waited  time.Duration
}

func runUpload(ctx context.Context, std streams, f *uploadFlags, file string) error {
	m, err := newMapping(f.maps, f.campaign, f.region)
	if err != nil {
		return err
	}
	forced, err := parseFormat(f.format)
	if err != nil {
		return err
	}
	if f.batch < 1 {
		return usageError("--batch-size %d is below 1", f.batch)
	}
	if f.fromRow < 0 {
		return usageError("--from-row %d is below 0", f.fromRow)
	}
	u := &upload{std: std, flags: f, m: m, progress: newProgress(std.err, f.quiet), stop: make(chan struct{})}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer u.onInterrupt(cancel)()
	if !f.dryRun {
		// The key is checked before anything is read.
		if u.client, err = f.client.newClient(dripcel.WithBatchSize(f.batch)); err != nil {
			return err
		}
	}
	if u.in, err = openInput(file, std.in, forced, u.stop); err != nil {
		return err
	}
	defer u.in.close()
	if u.rejects, err = createRejects(f.rejects, u.in); err != nil {
		return err
	}
	if err := u.check(); err != nil {
		// The file cannot be read to the end: nothing was sent.
		_ = u.rejects.close()
		if errors.Is(err, errCheckInterrupted) {
			return &exitError{code: exitInterrupt, err: err}
		}
		return err
	}
	if u.tally.count[invalid] == 0 && !f.dryRun {
		err = u.send(ctx)
	}
	if cerr := u.rejects.close(); cerr != nil && err == nil {
		err = &exitError{code: exitUsage, err: cerr}
	}
	u.tally.print(std.out, u.in.name, f.dryRun, u.rejects)
	u.printStop()
	if err != nil {
		return err
	}
	switch {
	case u.tally.count[invalid] > 0 && u.tally.sent == 0:
		return &exitError{code: exitUsage, err: fmt.Errorf("%s: %s; nothing was sent", u.in.name, plural(u.tally.count[invalid], "invalid row"))}
	case u.interrupted.Load():
		return &exitError{code: exitInterrupt, err: errors.New("interrupted")}
	case u.tally.rejected() > 0:
		return &exitError{code: exitRejected}
	}
	return nil
}

// printStop explains rows that were never read or never delivered, and
// names the row a rerun should start from.
func (u *upload) printStop() {
	switch {
	case u.stopped:
		from := u.resume
		if from == 0 {
			from = u.lastRow + 1
		}
		u.std.out.printf("stopped after row %d: any rows after it were not read or sent; "+
			"to send the rest, run the same command again with --from-row %d\n", u.lastRow, from)
	case u.resume != 0:
		// Every row was read, but the last request failed or was cut short.
		u.std.out.printf("row %d and the rows after it were not all delivered; "+
			"to send them, run the same command again with --from-row %d\n", u.resume, u.resume)
	}
}

// errCheckInterrupted ends a check cut short by Ctrl-C.
var errCheckInterrupted = errors.New("interrupted while checking the file; nothing was sent")

// check reads every row and reports the malformed ones; nothing is sent.
func (u *upload) check() error {
	r, closer, err := u.in.open(u.m)
	if err != nil {
		return err
	}
	defer func() { _ = closer.Close() }()
	u.header(r)
	u.progress.start("checking", 0)
	defer u.progress.done()
	shown := 0
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			if u.interrupted.Load() {
				return errCheckInterrupted // nothing sent yet: stop here
			}
			return nil
		}
		if err != nil {
			return err
		}
		if u.interrupted.Load() {
			return errCheckInterrupted
		}
		if rec.row < u.flags.fromRow {
			continue
		}
		u.tally.read++
		u.progress.add(1)
		if _, problems := u.sale(rec); len(problems) > 0 {
			u.tally.add(invalid, rec.row)
			reason := strings.Join(problems, "; ")
			u.rejects.add(rec, reason)
			if shown < shownRows {
				u.std.err.printf("%s: row %d: %s\n", u.in.name, rec.row, reason)
			} else if shown == shownRows {
				u.std.err.printf("%s: more invalid rows not shown (use --rejects FILE to get them all)\n", u.in.name)
			}
			shown++
		}
	}
}

// header gives a CSV header to the rejects file.
func (u *upload) header(r rowReader) {
	if c, ok := r.(*csvReader); ok {
		u.rejects.header(c.header, c.comma)
	}
}

// sale converts a row, with the problems found while reading it first.
func (u *upload) sale(rec *record) (dripcel.Sale, []string) {
	s, problems := u.m.sale(&rec.vals)
	if rec.problem != "" {
		problems = append([]string{rec.problem}, problems...)
	}
	return s, problems
}

// send reads the rows again and uploads them a batch at a time.
func (u *upload) send(ctx context.Context) error {
	r, closer, err := u.in.open(u.m)
	if err != nil {
		return err
	}
	defer func() { _ = closer.Close() }()
	u.progress.start("uploading", u.tally.read)
	defer u.progress.done()
	u.tally = tally{}
	u.lastRow = max(u.flags.fromRow-1, 0)
	batch := make([]*record, 0, u.flags.batch)
	sales := make([]dripcel.Sale, 0, u.flags.batch)
	for eof := false; !eof; {
		if u.interrupted.Load() {
			u.stopped = true
			return nil
		}
		batch, sales = batch[:0], sales[:0]
		for len(batch) < cap(batch) {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				eof = true
				break
			}
			if err != nil {
				// The file changed since it was checked. The rows read
				// into this batch go to the rejects, and a rerun starts
				// from the first of them.
				u.stopped = true
				for _, rec := range batch {
					u.reject(rec, notSent, "not sent: the file could not be read past a later row")
				}
				return err
			}
			if rec.row < u.flags.fromRow {
				continue
			}
			u.tally.read++
			u.lastRow = rec.row
			s, problems := u.sale(rec)
			if len(problems) > 0 {
				u.reject(rec, invalid, strings.Join(problems, "; "))
				continue
			}
			batch, sales = append(batch, rec), append(sales, s)
		}
		if u.interrupted.Load() {
			u.stopped = !eof
			for _, rec := range batch {
				u.reject(rec, notSent, "not sent: interrupted")
			}
			return nil
		}
		if len(batch) == 0 {
			continue
		}
		if err := u.upload(ctx, batch, sales); err != nil {
			u.stopped = !eof
			if u.interrupted.Load() && errors.Is(err, context.Canceled) {
				return nil
			}
			return &exitError{code: exitTransport, err: fmt.Errorf("upload stopped: %w", err)}
		}
	}
	return nil
}

// onInterrupt makes the first Ctrl-C (or SIGTERM) stop reading and the
// second abandon the request in flight. It returns the function that
// stops listening.
func (u *upload) onInterrupt(cancel context.CancelFunc) func() {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for n := 0; ; n++ {
			select {
			case <-sig:
			case <-done:
				return
			}
			if n == 0 {
				u.interrupted.Store(true)
				close(u.stop)
				u.std.err.println("\ninterrupted: finishing the batch in flight (Ctrl-C again to abandon it)")
				continue
			}
			cancel()
		}
	}()
	return func() {
		signal.Stop(sig)
		close(done)
	}
}

// reject counts a row that was not accepted and writes it to the rejects
// file.
func (u *upload) reject(rec *record, o outcome, reason string) {
	if (o == failed || o == notSent) && (u.resume == 0 || rec.row < u.resume) {
		u.resume = rec.row
	}
	u.tally.add(o, rec.row)
	u.rejects.add(rec, reason)
}
