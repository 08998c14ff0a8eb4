package outbox

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/export"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/fate"
	"github.com/dripcel-go/dripcel/dripcelpg"
	"github.com/dripcel-go/dripcel/internal/human"
	"github.com/spf13/cobra"
)

// defaultLimit is how many refused sales rejected lists without --limit.
const defaultLimit = 100

// csvHeader names the CSV's columns. The sale's own are named as Dripcel
// and "dripcel upload" name them, so that the file, fixed, uploads as it is.
var csvHeader = []string{"id", "ref", "campaign_id", "send_id", "click_id", "cell", "soldAt", "saleValue",
	"status", "message", "attempts", "enqueued_at", "rejected_at"}

// rejectedJSON is one sale of rejected --format json, with the CSV's keys.
type rejectedJSON struct {
	ID         int64    `json:"id"`
	Ref        string   `json:"ref"`
	CampaignID string   `json:"campaign_id"`
	SendID     string   `json:"send_id"`
	ClickID    string   `json:"click_id"`
	Cell       string   `json:"cell"`
	SoldAt     string   `json:"soldAt"`
	SaleValue  *float64 `json:"saleValue"`
	Status     int      `json:"status"`
	Message    string   `json:"message"`
	Attempts   int      `json:"attempts"`
	EnqueuedAt string   `json:"enqueued_at"`
	RejectedAt string   `json:"rejected_at"`
}

func newRejectedCmd(std cli.Streams, c *connFlags) *cobra.Command {
	var f filterFlags
	var format string
	var limit int
	cmd := &cobra.Command{
		Use:   "rejected [filters] [--format table|csv|json]",
		Short: "List the sales Dripcel refused, with its answer",
		Long: `List the sales Dripcel refused (the outbox's rejected table), the newest
refusal first: each sale's ID, Ref, identifier, cell, soldAt and value, and
Dripcel's answer (its HTTP status and message; status 0 is a sale refused
before it was sent, with the client's reason).

Filters are combined: a sale must match each one given. --message matches
a part of the refusal in any case. --older-than and --newer-than take ages
such as 90m, 36h or 7d.

--format table (the default) is for a terminal: long values are cut and
control characters shown as spaces. --format csv and --format json hold
every value whole, with the sale's columns named as "dripcel upload" reads
them (campaign_id, send_id, click_id, cell, soldAt, saleValue), so that a
file of refused sales, fixed, can be uploaded as it is. A blank saleValue
(null in JSON) is the campaign's default value; times are RFC 3339 in UTC.

Exit codes:
  0    refused sales were listed
  1    no refused sale matches the filters (the table or CSV has its
       header only, JSON is [])
  2    usage error (a bad flag, no outbox at --schema/--table)
  3    the database could not be reached, refused the login, or the query
       failed`,
		Example: `  dripcel outbox rejected
  # ID  REF     IDENTIFIER                         CELL         SOLD AT              VALUE    STATUS  REFUSED     MESSAGE
  # 41  A-1042  campaign 639978184d735c88ed8bbd68  27631231234  2025-10-14           199.99   404     2h 5m ago   Campaign not found
  # 38  A-1039  click 6f1c2a9e4b                   27821234567  2025-10-14 09:02:51  default  404     3h 12m ago  Click not found

  dripcel outbox rejected --message "campaign not found" --newer-than 2d --format csv > refused.csv
  dripcel outbox rejected --ref A-1042 --ref A-1043 --format json | jq '.[].message'`,
		Args: cli.ExactArgs(0, "rejected takes flags only, e.g. --campaign ID"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			filter, _, err := f.filter(cmd)
			if err != nil {
				return err
			}
			write, ok := writers[format]
			if !ok {
				return cli.Usage("--format %s: want table, csv or json", cli.Quote(format))
			}
			if limit < 1 {
				return cli.Usage("--limit %d: want 1 or more", limit)
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			// One more than asked, to know whether there are more.
			filter.Limit = limit + 1
			sales, err := s.outbox.Rejected(cmd.Context(), filter)
			if err != nil {
				return s.fail(err)
			}
			more := len(sales) > limit
			if more {
				sales = sales[:limit]
			}
			if err := write(std.Out, sales); err != nil {
				return err
			}
			if more {
				std.Err.Printf("dripcel: more refused sales match: these are the newest %d; --limit shows more\n", limit)
			}
			if len(sales) == 0 {
				return cli.Exit(cli.ExitRejected, errors.New("no refused sale matches"))
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "print as `FORMAT`: table, csv or json")
	cmd.Flags().IntVar(&limit, "limit", defaultLimit, "list at most `N`, the newest refusals first")
	return cmd
}

// writers print refused sales in each --format.
var writers = map[string]func(*cli.Printer, []dripcelpg.RejectedSale) error{
	"table": writeTable,
	"csv":   writeCSV,
	"json":  writeJSON,
}

func writeTable(out *cli.Printer, sales []dripcelpg.RejectedSale) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	row := func(cells ...string) { _, _ = tw.Write([]byte(strings.Join(cells, "\t") + "\n")) }
	row("ID", "REF", "IDENTIFIER", "CELL", "SOLD AT", "VALUE", "STATUS", "REFUSED", "MESSAGE")
	now := time.Now()
	for _, r := range sales {
		noun, id := fate.ID(&r.Sale)
		value := "default"
		if r.Sale.SaleValue != nil {
			value = formatValue(r.Sale.SaleValue)
		}
		status := strconv.Itoa(r.Status)
		if r.Status == 0 {
			status = "unsent"
		}
		row(strconv.FormatInt(r.ID, 10), printable(r.Sale.Ref, 24), noun+" "+printable(id, 30), printable(r.Sale.Cell, 20),
			export.FormatSoldAt(r.Sale.SoldAt), value, status, human.Age(now.Sub(r.Rejected))+" ago", printable(r.Error, 60))
	}
	return tw.Flush()
}

func writeCSV(out *cli.Printer, sales []dripcelpg.RejectedSale) error {
	w := csv.NewWriter(out)
	_ = w.Write(csvHeader)
	for _, r := range sales {
		j := toJSON(r)
		_ = w.Write([]string{strconv.FormatInt(j.ID, 10), j.Ref, j.CampaignID, j.SendID, j.ClickID, j.Cell, j.SoldAt,
			formatValue(j.SaleValue), strconv.Itoa(j.Status), j.Message, strconv.Itoa(j.Attempts), j.EnqueuedAt, j.RejectedAt})
	}
	w.Flush()
	return w.Error()
}

func writeJSON(out *cli.Printer, sales []dripcelpg.RejectedSale) error {
	all := make([]rejectedJSON, 0, len(sales))
	for _, r := range sales {
		all = append(all, toJSON(r))
	}
	b, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return err
	}
	out.Printf("%s\n", b)
	return nil
}

func toJSON(r dripcelpg.RejectedSale) rejectedJSON {
	s := r.Sale
	return rejectedJSON{
		ID: r.ID, Ref: s.Ref, CampaignID: s.CampaignID, SendID: s.SendID, ClickID: s.ClickID, Cell: s.Cell,
		SoldAt: export.FormatSoldAt(s.SoldAt), SaleValue: s.SaleValue, Status: r.Status, Message: r.Error,
		Attempts: r.Attempts, EnqueuedAt: r.Enqueued.UTC().Format(time.RFC3339), RejectedAt: r.Rejected.UTC().Format(time.RFC3339),
	}
}

// formatValue writes a sale's value as Dripcel and upload read it: plain
// digits, never an exponent; "" for the campaign's default.
func formatValue(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

// printable makes a value from the database safe and short for a
// terminal: a message holding a line break, a tab or an escape sequence
// would break the table's columns or drive the terminal. Runs of spaces
// and control or format characters become one space; max > 0 cuts it at
// max characters.
func printable(s string, max int) string {
	clean := strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError
	}), " ")
	if max <= 0 || utf8.RuneCountInString(clean) <= max {
		return clean
	}
	runes := []rune(clean)
	return string(runes[:max-1]) + "…"
}
