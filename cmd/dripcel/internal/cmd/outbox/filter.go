package outbox

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"github.com/dripcel-go/dripcel/dripcelpg"
	"github.com/spf13/cobra"
)

// filterFlags choose rejected sales, for rejected, retry and purge alike.
type filterFlags struct {
	campaign, send, click string
	message               string
	status                int
	olderThan, newerThan  string
	refs                  []string
	ids                   []string
}

// register adds the filter flags to cmd.
func (f *filterFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.campaign, "campaign", "", "sales of the campaign with this `ID` (campaign_id)")
	fl.StringVar(&f.send, "send", "", "sales of the send with this `ID` (send_id)")
	fl.StringVar(&f.click, "click", "", "sales of the click with this `ID` (click_id)")
	fl.StringVar(&f.message, "message", "", "sales whose refusal contains this `TEXT`, in any case (\"campaign not found\")")
	fl.IntVar(&f.status, "status", 0, "sales Dripcel refused with this HTTP `STATUS` (404, 409, 400…)")
	fl.StringVar(&f.olderThan, "older-than", "", "sales refused longer ago than this `AGE`: 90m, 36h, 7d")
	fl.StringVar(&f.newerThan, "newer-than", "", "sales refused less long ago than this `AGE`: 90m, 36h, 7d")
	fl.StringArrayVar(&f.refs, "ref", nil, "the sale with this `REF` (your order ID); repeat for more")
	fl.StringSliceVar(&f.ids, "id", nil, "the sale with this `ID` (the first column of rejected); repeat, or give a list: 12,15")
}

// filter is the dripcelpg filter the flags give, and the flags given, to
// name them in messages.
func (f *filterFlags) filter(cmd *cobra.Command) (dripcelpg.RejectedFilter, []string, error) {
	r := dripcelpg.RejectedFilter{
		CampaignID: strings.TrimSpace(f.campaign), SendID: strings.TrimSpace(f.send), ClickID: strings.TrimSpace(f.click),
		Message: f.message, Status: f.status,
	}
	for _, id := range f.ids {
		n, err := strconv.ParseInt(strings.TrimSpace(id), 10, 64)
		if err != nil || n < 1 {
			return r, nil, cli.Usage("--id %s is not the ID of a refused sale (the first column of dripcel outbox rejected)", cli.Quote(id))
		}
		r.IDs = append(r.IDs, n)
	}
	for _, ref := range f.refs {
		if ref = strings.TrimSpace(ref); ref != "" {
			r.Refs = append(r.Refs, ref)
		}
	}
	if f.status < 0 || f.status > 599 {
		return r, nil, cli.Usage("--status %d is not an HTTP status (404, 409, 400…)", f.status)
	}
	var err error
	if r.OlderThan, err = age("--older-than", f.olderThan); err != nil {
		return r, nil, err
	}
	if r.NewerThan, err = age("--newer-than", f.newerThan); err != nil {
		return r, nil, err
	}
	if r.OlderThan > 0 && r.NewerThan > 0 && r.NewerThan <= r.OlderThan {
		return r, nil, cli.Usage("--newer-than %s is not more than --older-than %s: no sale can be both", f.newerThan, f.olderThan)
	}
	var given []string
	for _, name := range []string{"campaign", "send", "click", "message", "status", "older-than", "newer-than", "ref", "id"} {
		if cmd.Flags().Changed(name) {
			given = append(given, "--"+name)
		}
	}
	return r, given, nil
}

// age reads a flag's duration as Go does (90m, 36h, 1h30m), with d for
// days (7d, 1d12h), which Go lacks and which ages of refusals need most.
// "" is 0: the flag was not given.
func age(flag, v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	bad := cli.Usage("%s %s is not a duration such as 90m, 36h or 7d", flag, cli.Quote(v))
	var d time.Duration
	rest := v
	if days, after, ok := strings.Cut(v, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		// Digits only: ParseFloat would take "NaN", "Inf" and "1e3" too.
		if err != nil || strings.Trim(days, "0123456789.") != "" || n > float64(math.MaxInt64)/float64(24*time.Hour) {
			return 0, bad
		}
		d, rest = time.Duration(n*float64(24*time.Hour)), after
	}
	if rest != "" {
		r, err := time.ParseDuration(rest)
		if err != nil || r < 0 || r > math.MaxInt64-d {
			return 0, bad
		}
		d += r
	}
	if d <= 0 {
		return 0, cli.Usage("%s %s is not more than 0", flag, cli.Quote(v))
	}
	return d, nil
}
