// Package dripcel is a client for the Dripcel Sales API: it reports sales
// (conversions) back to Dripcel so that campaigns are attributed.
//
// The API is described on the "Sales" page of Dripcel's API documentation.
// The README has the guarantees in full; this overview names the parts.
//
// # Reporting sales
//
// Create one [Client] with [NewClient] and share it; it is safe for
// concurrent use.
//
//	c, err := dripcel.NewClient(os.Getenv("DRIPCEL_API_KEY"), dripcel.WithCellRegion("ZA"))
//	err = c.UploadSales(ctx, sales)   // POST /sales, in requests as full as Dripcel takes
//	err = c.UploadSalesSeq(ctx, rows) // the same, sent as rows are read
//	err = c.Postback(ctx, sale)       // GET /sales/create, one sale
//
// A [Sale] names exactly one of CampaignID, SendID or ClickID, the
// identifier Dripcel matches it to its campaign by; none, or more than one,
// is refused before anything is sent ([ErrInvalidSale]). Cells are sent as
// given, or as the international digits Campaigns V2 need with
// [WithCellRegion] ([ToInternational] converts one).
//
// # Each sale's outcome
//
// Only Dripcel's own answer, its JSON envelope, settles a sale: a page from a
// proxy, an empty 2xx or a redirect is [ErrNotFromDripcel] and leaves the
// sale to be sent again. A nil error from an upload means Dripcel recorded
// every sale. Otherwise its [*UploadError] gives every sale its own
// [Outcome] ([UploadError.Outcomes]): [Recorded], [AlreadyRecorded],
// [Refused] or [NotDelivered], the last safe to send again. A batch Dripcel
// refuses is sent again in parts until each sale has Dripcel's answer about
// it alone. For a single sale, [FateOf] reads the error the same way.
//
// Errors match the sentinels [ErrCampaignNotFound], [ErrDuplicateSale],
// [ErrUnauthorized], [ErrRateLimited], [ErrNotFromDripcel], [ErrInvalidSale]
// and [ErrInvalidCell] with errors.Is; [*APIError], [*ValidationError] and
// [*CellError] carry the details. An upload's error matches ErrDuplicateSale only when
// every sale is in Dripcel.
//
// # The rate budget
//
// Dripcel allows an organisation about 50 requests a minute. A client paces
// its requests to that budget, evenly spaced ([WithRateLimit],
// [WithoutPacing]); a 429 is waited out, not retried as a fault. Clients in
// one process share a budget through one [Pacer] ([WithRateLimiter]);
// processes share one through package dripcelredis. Failed attempts
// (network errors, 500, 502, 503, 504) are retried with backoff
// ([WithMaxRetries], [WithRetryWait]).
//
// # Never asking twice
//
// With [WithLedger], what Dripcel has confirmed is remembered (in a file with
// [OpenFileLedger], or in PostgreSQL with package dripcelpg) and never sent
// again: a sale the ledger holds is AlreadyRecorded without a request
// ([ErrKnownFromLedger]). Uploading a file a second time then costs nothing
// of the budget.
//
// # Reporting from a checkout
//
// A [Reporter] queues sales and sends them in the background, so that a
// checkout never waits on Dripcel, and keeps each sale until Dripcel has
// given its verdict: in memory, in a spool file on disk ([WithSpool]), or in
// a [Queue] of your own ([WithQueue]).
//
// # Many instances
//
// Package dripcelpg keeps the Reporter's queue as an outbox in PostgreSQL:
// sales are enqueued in the caller's own transaction, and one instance of a
// fleet, the holder of a lease, delivers them. Package dripcelredis shares
// one rate budget among every process reporting for the organisation.
//
// # Testing
//
// Package dripceltest runs a fake Dripcel in process: give its URL to
// [WithBaseURL] and read back what it stored. It can be told to fail, to
// answer as a proxy would, and to treat refused batches in each of the ways
// Dripcel might.
//
// The API key never appears in an error, a log line or a printed value.
package dripcel
