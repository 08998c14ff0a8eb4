// Package upload is the upload command: the running side of an upload.
// It takes rows from internal/export and gives outcomes out: the check and
// send passes, each row's outcome, the summary, the rejects file and the
// line to resume from.
package upload

import (
	"context"
	"errors"
	"fmt"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/apiclient"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/export"
	"sync/atomic"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/spf13/cobra"
)

// uploadFlags are upload's flags.
type uploadFlags struct {
	client   apiclient.Flags
	maps     []string
	campaign string
	region   string
	format   string
	sheet    string
	rejects  string
	dryRun   bool
	quiet    bool
	batch    int
	// fromRow is the first row read (0 or 1: all of them).
	fromRow int
	// rateLimitWait bounds the pauses for Dripcel's rate limit.
	rateLimitWait time.Duration
	// soldAt fills blank soldAt cells; zone and dateFormat read dates.
	soldAt, zone, dateFormat string
	decimalComma             bool
	// skipInvalid sends the valid rows of a file with invalid ones;
	// maxInvalid does so while there are at most that many (0, the
	// default, lets none go).
	skipInvalid bool
	maxInvalid  int
	// rate is --rate: requests a minute (0: the library's default pacing).
	rate int
	// progressEvery is --progress-every.
	progressEvery time.Duration
	// matchBy is --match-by: the identifier sent for rows naming more
	// than one.
	matchBy string
	// ledger is --ledger, --no-ledger and --resend.
	ledger apiclient.LedgerFlags
}

// uploadExitCodes is upload's own exit-code table.
const uploadExitCodes = `Exit codes:
  0    every row is in Dripcel: recorded by this run, already there, or a
       repeat of a row that is
  1    some rows need your action: Dripcel refused them (an unknown
       campaign, say), or they are invalid and --skip-invalid or
       --max-invalid let the others go; see the summary and --rejects
  2    usage or input error (bad flag, unreadable file, invalid rows
       without --skip-invalid, DRIPCEL_API_KEY not set); nothing was sent
  3    the key was refused (401/403), or the network or Dripcel failed
       after retries; the upload stopped and says where to go on from
  4    rows were sent, then the upload could not finish its own work: the
       file changed since it was checked (a row could not be read again,
       or no longer reads as it did), or the rejects file could not be
       written; the summary
       says what was sent and where to go on from
  130  interrupted with Ctrl-C; the summary says what was sent and the
       row to go on from`

// NewCmd is the upload command.
func NewCmd(std cli.Streams) *cobra.Command { return Command(std, "") }

// Command is the upload command using key rather than DRIPCEL_API_KEY
// when key is not empty: the demo's, which has a key of its own.
func Command(std cli.Streams, key string) *cobra.Command {
	var f uploadFlags
	f.client.Key = key
	cmd := &cobra.Command{
		Use:   "upload FILE",
		Short: "Upload a CSV, JSON, JSON-lines or Excel file of sales",
		Long: `Upload every sale in FILE (or standard input, "-") with POST /sales.

FILE is a CSV file with a header row, a JSON array of objects, JSON lines
(one object a line) or an Excel workbook (.xlsx, its first sheet unless
--sheet names one), told apart by the extension or else by the content.
Files compressed with gzip (.csv.gz, .jsonl.gz) are read as they are; UTF-8
with or without a byte order mark and UTF-16 with one (Excel's "Unicode
Text") are read. Columns and keys are named as Dripcel names them:

  campaign_id  the campaign of the sale, or instead:
  send_id      the send (one SMS of a campaign) it came from, or
  click_id     the click on Dripcel's tracked link it came from
  cell         required; local (0631231234) or international (27631231234)
  soldAt       optional; YYYY-MM-DD or YYYY/MM/DD, either with HH:MM[:SS]
               after it, RFC 3339 with an offset (2025-10-14T09:02:51+02:00),
               or the form --date-format gives (DD/MM/YYYY, MM/DD/YYYY, with
               HH:MM[:SS] for a clock); blank: the time this run started
               (see below)
  saleValue    optional; 199.99, 1,299.00, R199.99 or ZAR 1 299 (with
               --decimal-comma: 1.299,00); blank: the campaign default

Other columns are ignored. Use --map to read fields from other columns.
Times are read in --time-zone (Dripcel's own, ` + export.DefaultZone + `, unless
you say otherwise); a time with an offset is moved into it.

A sale names exactly one of campaign_id, send_id or click_id, the
identifier Dripcel matches it to its campaign by: Dripcel refuses an upload
naming more than one. So each row is sent by the one it names, and a file
needs only one of these columns (an export of clicks kept at checkout has
click_id and no campaign). --campaign fills only the rows naming none: a
row's own campaign_id, send_id or click_id wins over it. A row naming more
than one is invalid unless --match-by says which to send: with --match-by
click_id a row with a click is sent by it, and a row whose click_id is
blank by the one identifier it does name. The summary counts the rows by the identifier
they were sent by.

A blank soldAt is filled with one time for the whole run, shown in the
summary, rather than left for Dripcel to read as its own "now": a rerun
after midnight would otherwise record the same rows again on a new date.
A rerun that goes on from a stop repeats it with --sold-at.

Every row is checked before anything is sent. An invalid row (a bad number
or date, a missing cell) stops the upload with exit code 2 and nothing
sent, unless --skip-invalid (or --max-invalid N) lets the valid rows go:
the invalid ones then go to the rejects file with their reasons. Rows with
the cell, campaign (or send or click) and soldAt date of an earlier row are
one sale to Dripcel, which keeps the first: they are named, and settled
with that row without being sent; if Dripcel refused that row for anything
but an unknown campaign (its value, say), the repeat goes in its own right.
The file is read as a stream, so files of millions of rows upload in
bounded memory.

Each request is filled with as many rows as fit in a body Dripcel takes
(--batch-size sets a count limit too), and the file goes out as one
stream, so every request but the last is full: Dripcel's budget is about
50 requests a minute, so full requests are the fast way. When Dripcel refuses
a request for a row in it, the library sends its rows again in smaller
requests until each has Dripcel's answer about it alone. The summary counts
the rows recorded by this run, those Dripcel already had, those it refused
(and why) and those not delivered (and why), with the first row numbers of
each. (When Dripcel stores part of a request it refuses, the rows it stored
then are counted as already in Dripcel: its answers cannot tell them apart.)
--rejects FILE gets every row that needs your action, in the input's format
(CSV for a workbook) with "row" and "reason" columns added, ready to fix
and send again; rows already in Dripcel are not among them.

Requests are paced to Dripcel's budget of about 50 a minute per
organisation, or to --rate N a minute (lower it when other programs use the
same organisation); the progress shows the time left at that budget. When
Dripcel answers 429 all the same, the request is sent again after the wait
it asks for (else the rest of the minute), for up to --rate-limit-wait in
all; these waits spend none of --retries.

Row numbers are line numbers in CSV and JSON-lines files (the CSV header is
row 1), row numbers in a sheet, and positions in a JSON array (the first
object is row 1).

Ctrl-C stops sending: the answer to the request in flight is waited for,
and no other request is sent, not even while a refused request is being
settled row by row. The summary is printed and the rejects file written:
the rows left without Dripcel's answer are in it as not delivered, and the
summary names the row to go on from. A second Ctrl-C abandons the request
in flight at once.

Off a terminal (a log), the progress is a line every --progress-every
(10s), counting the rows settled: answered by Dripcel, or not to be sent.

An upload that stopped early (Ctrl-C, a refused key, a network failure)
says which row to go on from: run the same command again with the flags it
names (--from-row N, and --sold-at when blanks were filled). The rows
before N are read, not sent, only to find the rows from N on that repeat
them (so the resumed run sends what the whole one would have), and the
rejects file keeps the earlier run's rows before N and gains this run's.

` + apiclient.LedgerHelp + `

` + uploadExitCodes,
		Example: `  # A CSV export with the columns named as Dripcel names them:
  export DRIPCEL_API_KEY=...
  dripcel upload --region ZA --rejects rejects.csv sales.csv

  # sales.csv:
  #   campaign_id,cell,soldAt,saleValue
  #   639978184d735c88ed8bbd68,063 123 1234,2025-10-14,199.99
  #   639978184d735c88ed8bbd68,0821234567,2025-10-14 09:02:51,

  # A workbook with its own headings, all rows for one campaign:
  dripcel upload --campaign 639978184d735c88ed8bbd68 --map cell=Phone,saleValue=Amount orders.xlsx

  # Checkout orders reported by the click of Dripcel's tracked link; the
  # orders that came without one go to the campaign:
  #   click_id,cell,soldAt,saleValue
  #   6f1c2a9e4b,0631231234,2025-10-14,199.99
  #   ,0821234567,2025-10-14,
  dripcel upload --region ZA --campaign 639978184d735c88ed8bbd68 orders.csv

  # An export with campaign_id and click_id columns both filled: send the click
  dripcel upload --region ZA --match-by click_id export.csv

  # Dates written day first, send what is valid, keep the rest:
  dripcel upload --region ZA --date-format DD/MM/YYYY --skip-invalid --rejects fix.csv export.csv.gz

  # Check a file without sending anything (no key needed):
  dripcel upload --dry-run --region ZA sales.jsonl

  # From another program, as JSON lines on standard input:
  export-sales --since yesterday | dripcel upload --quiet -

  # Go on after an upload that stopped at row 5001:
  dripcel upload --region ZA --rejects rejects.csv --from-row 5001 --sold-at "2026-11-30 14:02:11" sales.csv`,
		Args: cli.ExactArgs(1, "upload needs one FILE (or - for standard input)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUpload(cmd.Context(), std, &f, args[0])
		},
	}
	f.client.Register(cmd)
	fl := cmd.Flags()
	fl.StringSliceVar(&f.maps, "map", nil, "read a field from another column: FIELD=COLUMN[,FIELD=COLUMN…], e.g. cell=Phone,campaign_id=Campaign")
	fl.StringVar(&f.campaign, "campaign", "", "campaign ID for the rows naming no campaign_id, send_id or click_id (a row's own identifier wins)")
	fl.StringVar(&f.matchBy, "match-by", "", "for rows naming more than one of campaign_id, send_id and click_id, the one to send: campaign_id, send_id or click_id (a row naming one is sent by it)")
	fl.StringVar(&f.region, "region", "", "convert local cells to international digits for this region, e.g. ZA (needed for Campaigns V2)")
	fl.StringVar(&f.format, "format", "auto", "input format: csv, json, jsonl, xlsx or auto")
	fl.StringVar(&f.sheet, "sheet", "", "the sheet of an Excel workbook to read (default: the first)")
	fl.StringVar(&f.rejects, "rejects", "", "write every row needing action, with its row number and reason, to this file (a resume appends)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "check and convert every row, send nothing (needs no key)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "show no progress (the summary is still printed)")
	fl.IntVar(&f.batch, "batch-size", 0, "rows per request at most (0: as many as fit in one request, as the library does)")
	fl.IntVar(&f.fromRow, "from-row", 0, "skip the rows before this row number (to go on after a stop)")
	fl.DurationVar(&f.rateLimitWait, "rate-limit-wait", 10*time.Minute, rateLimitHelp)
	fl.StringVar(&f.soldAt, "sold-at", "", `the time blank soldAt cells stand for, e.g. "2026-11-30 14:02:11" (default: when this run started)`)
	fl.StringVar(&f.zone, "time-zone", export.DefaultZone, "the zone times are read in and blank soldAt is filled in: a zone name, UTC or Local")
	fl.StringVar(&f.dateFormat, "date-format", "", "the form of soldAt values as your file writes them: DD/MM/YYYY, MM/DD/YYYY or YYYY/MM/DD, with HH:MM or HH:MM:SS for a clock (the standard forms are still read)")
	fl.BoolVar(&f.decimalComma, "decimal-comma", false, "read amounts with a decimal comma: 1.299,50")
	fl.BoolVar(&f.skipInvalid, "skip-invalid", false, "send the valid rows even when some are invalid; the invalid ones go to --rejects")
	fl.IntVar(&f.maxInvalid, "max-invalid", 0, "as --skip-invalid, while there are at most this many invalid rows (without it, one invalid row stops the upload)")
	fl.DurationVar(&f.progressEvery, "progress-every", defaultProgressEvery, "how often a progress line is written when standard error is not a terminal (a log)")
	f.ledger.Register(cmd)
	fl.IntVar(&f.rate, "rate", 0, fmt.Sprintf("send at most this many requests a minute (default: Dripcel's %d; lower it when other programs share the organisation's budget)", dripcel.DefaultRateLimit))
	return cmd
}

// upload is one run of the upload command.
type upload struct {
	std      cli.Streams
	flags    *uploadFlags
	m        *export.Mapping
	ex       *export.Export
	client   *dripcel.Client
	rejects  *rejects
	progress progress
	tally    tally
	repeats  *repeats
	// invalidRows are the rows the check pass found invalid: the later
	// passes must find the same, or the file changed under them.
	invalidRows map[int]bool
	// filled counts the rows whose blank soldAt the run's time stood for.
	filled int
	// several counts the invalid rows naming more than one identifier
	// that --match-by did not settle.
	several int
	// lastRow is the last row read; stopped says reading ended early.
	// resume is the first row that failed or was not sent (0: none).
	lastRow     int
	resume      int
	stopped     bool
	interrupted atomic.Bool
	// stop is closed by the first Ctrl-C, to end the copy of stdin.
	stop chan struct{}
	// abandoned: a second Ctrl-C ended the request in flight.
	abandoned atomic.Bool
	// sender is the client's transport: it counts requests and settled
	// rows, and stops sending at a Ctrl-C. toSend is the rows to send and
	// done those settled by earlier read-aheads, for the progress.
	sender *sender
	toSend int
	// ledger is the ledger the client consults and writes, if any.
	ledger *dripcel.FileLedger
	// pastLedger counts the sales handed over that are dated before the
	// ledger's retention: it neither knew them nor will remember them.
	pastLedger int
}

// newUploadRun checks the flags that need no file.
func newUploadRun(std cli.Streams, f *uploadFlags, now time.Time) (*upload, error) {
	m, err := export.NewMapping(export.Options{Maps: f.maps, Campaign: f.campaign, MatchBy: f.matchBy, Region: f.region,
		Zone: f.zone, DateFormat: f.dateFormat, SoldAt: f.soldAt, Now: now, DecimalComma: f.decimalComma})
	if err != nil {
		return nil, err
	}
	switch {
	case f.batch < 0:
		return nil, cli.Usage("--batch-size %d is negative", f.batch)
	case f.fromRow < 0:
		return nil, cli.Usage("--from-row %d is below 0", f.fromRow)
	case f.progressEvery <= 0:
		return nil, cli.Usage("--progress-every %s is not above 0", f.progressEvery)
	case f.maxInvalid < 0:
		return nil, cli.Usage("--max-invalid %d is below 0", f.maxInvalid)
	}
	return &upload{std: std, flags: f, m: m, progress: newProgress(std.Err, f.quiet, f.progressEvery),
		stop: make(chan struct{}), repeats: newRepeats(), invalidRows: map[int]bool{}}, nil
}

func runUpload(ctx context.Context, std cli.Streams, f *uploadFlags, file string) error {
	forced, err := export.ParseFormat(f.format)
	if err != nil {
		return err
	}
	u, err := newUploadRun(std, f, time.Now())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	u.sender = &sender{cancel: cancel, moved: u.moved}
	defer u.onInterrupt(cancel)()
	if !f.dryRun {
		// The key is checked before anything is read.
		rate, err := u.rateOptions()
		if err != nil {
			return err
		}
		opts := rate
		if f.batch > 0 {
			opts = append(opts, dripcel.WithBatchSize(f.batch))
		}
		// The ledger is opened before the file is read: one held by
		// another upload stops this one before anything is sent.
		if u.client, u.ledger, err = f.client.NewClientWithLedger(&f.ledger, std.Err, opts...); err != nil {
			return err
		}
		if u.ledger != nil {
			defer func() { _ = u.ledger.Close() }()
		}
	}
	in, err := export.OpenInput(file, std.In, forced, u.stop)
	if err != nil {
		return err
	}
	in.Sheet = f.sheet
	defer in.Close()
	u.ex = export.New(in, u.m)
	if u.rejects, err = createRejects(f.rejects, in, f.fromRow); err != nil {
		return err
	}
	if err := u.check(); err != nil {
		// The file cannot be read to the end, or is not to be sent:
		// nothing was sent, and an earlier run's rejects file stays.
		u.rejects.abort()
		if errors.Is(err, errCheckInterrupted) {
			return cli.Exit(cli.ExitInterrupt, err)
		}
		return err
	}
	invalidRows := u.tally.count[invalid]
	stopInvalid := invalidRows > 0 && !u.invalidAllowed(invalidRows)
	if !stopInvalid && !f.dryRun && u.tally.read > 0 {
		err = u.send(ctx)
	}
	if cerr := u.rejects.close(); cerr != nil && err == nil {
		err = u.afterSending(cerr)
	}
	u.tally.print(std.Out, summary{name: u.ex.Name(), dryRun: f.dryRun, rj: u.rejects, fill: u.fillNote(), ledger: u.ledgerPath(), pastLedger: u.pastLedger})
	u.printStop()
	if err != nil {
		return err
	}
	switch {
	case stopInvalid:
		return cli.Exit(cli.ExitUsage, fmt.Errorf("%s: %s; nothing was sent%s",
			u.ex.Name(), cli.Plural(invalidRows, "invalid row"), u.invalidHint(invalidRows)))
	case u.interrupted.Load():
		return cli.Exit(cli.ExitInterrupt, errors.New("interrupted"))
	case u.tally.actionable() > 0:
		return cli.Exit(cli.ExitRejected, nil)
	}
	return nil
}

// ledgerPath is the ledger file used, or "".
func (u *upload) ledgerPath() string {
	if u.ledger == nil {
		return ""
	}
	return u.ledger.Path()
}

// invalidAllowed reports whether the valid rows go although n are invalid.
func (u *upload) invalidAllowed(n int) bool {
	return u.flags.skipInvalid || n <= u.flags.maxInvalid
}

// invalidHint says how to send the valid rows anyway.
func (u *upload) invalidHint(n int) string {
	if u.flags.maxInvalid > 0 {
		return fmt.Sprintf(" (more than --max-invalid %d; --skip-invalid sends the valid rows whatever their number)", u.flags.maxInvalid)
	}
	hint := " (fix them, or give --skip-invalid to send the valid rows"
	if u.flags.rejects == "" {
		hint += " and --rejects FILE to keep the invalid ones"
	}
	hint += ")"
	if u.several > 0 && !u.ex.MatchByGiven() {
		hint += fmt.Sprintf("; %s more than one of campaign_id, send_id and click_id: "+
			"--match-by campaign_id, send_id or click_id says which to send", namesVerb(u.several))
	}
	return hint
}

// namesVerb is "1 row names" or "3 rows name".
func namesVerb(n int) string {
	if n == 1 {
		return "1 row names"
	}
	return cli.Plural(n, "row") + " name"
}

// fillNote says what time blank soldAt cells stood for, if any did.
func (u *upload) fillNote() string {
	if u.filled == 0 {
		return ""
	}
	at, zone := u.ex.Fill()
	return fmt.Sprintf("blank soldAt in %s read as %s %s, the time of this run (--sold-at sets it)",
		cli.Plural(u.filled, "row"), export.FormatSoldAt(at), zone)
}

// afterSending is the error for a failure of the run's own work (reading
// the file again, writing the rejects file): a usage error, exit 2, only
// while nothing was sent, since exit 2 says so; once a request went out,
// exit 4, and the summary says what was sent.
func (u *upload) afterSending(err error) error {
	if u.sender != nil {
		if requests, _ := u.sender.counts(); requests > 0 {
			return cli.Exit(cli.ExitIncomplete, err)
		}
	}
	return cli.Exit(cli.ExitUsage, err)
}
