// Package demo is the demo command: an upload against a fake Dripcel in
// the process, with no key and no network.
package demo

import (
	"context"
	"fmt"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"os"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
	"github.com/spf13/cobra"
)

// demoCSV is the file the demo uploads: three good rows, a repeat of the
// first, an unknown campaign and a sale the fake server already has.
const demoCSV = `campaign_id,cell,soldAt,saleValue,order
demo-campaign,063 123 1234,2025-10-14,199.99,A-1001
demo-campaign,0821234567,2025-10-14 09:02:51,,A-1002
demo-campaign,(072) 555-0101,2025-10-14,0,A-1003
demo-campaign,0631231234,2025-10-14,199.99,A-1001
old-campaign,0845550199,2025-10-15,75,A-1005
demo-campaign,0845550199,2025-10-13,120,A-1006
`

// Upload runs the upload command with args, using key rather than
// DRIPCEL_API_KEY. main gives it: the demo runs the very command a user
// would, without importing another command's package.
type Upload func(ctx context.Context, std cli.Streams, key string, args []string) error

// NewCmd is the demo command.
func NewCmd(std cli.Streams, upload Upload) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run an upload against a built-in fake Dripcel (no key, no network)",
		Long: `Start a fake Dripcel inside this process (the dripceltest package), write a
small sales file, and upload it exactly as "dripcel upload --region ZA
--rejects rejects.csv sales.csv" would, so you can see the progress, the
summary and the rejects file without a key. Nothing leaves your machine.`,
		Example: `  dripcel demo`,
		Args:    cli.ExactArgs(0, "demo takes no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), std, upload, quiet)
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "show no progress")
	return cmd
}

func runDemo(ctx context.Context, std cli.Streams, upload Upload, quiet bool) error {
	// Atomic batches: a refused batch stores nothing, so sending its rows
	// again one at a time classes each exactly.
	srv := dripceltest.Start(
		dripceltest.WithCampaigns(dripceltest.Campaign{ID: "demo-campaign", Country: "ZA", DefaultSaleValue: 150}),
		dripceltest.WithBatchMode(dripceltest.BatchAtomic))
	defer srv.Close()

	dir, err := os.MkdirTemp("", "dripcel-demo-*")
	if err != nil {
		return cli.Exit(cli.ExitUsage, err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	// Work in the temporary folder so that messages name "sales.csv".
	if wd, err := os.Getwd(); err == nil {
		defer func() { _ = os.Chdir(wd) }()
	}
	if err := os.Chdir(dir); err != nil {
		return cli.Exit(cli.ExitUsage, err)
	}
	sales, rejectsPath := "sales.csv", "rejects.csv"
	if err := os.WriteFile(sales, []byte(demoCSV), 0o600); err != nil {
		return cli.Exit(cli.ExitUsage, err)
	}

	// The fake keeps no budget: no need to pace for it. No ledger: the
	// fake is gone when the demo ends, and the user's cache directory is
	// no place for what it confirmed.
	args := []string{"--region", "ZA", "--rejects", rejectsPath, "--rate", "60000", "--retries", "0", "--base-url", srv.URL, "--no-ledger"}
	if quiet {
		args = append(args, "--quiet")
	}
	args = append(args, sales)

	// A sale recorded "yesterday", so that row 7 is a duplicate.
	earlier, err := dripcel.NewClient(srv.Key, dripcel.WithBaseURL(srv.URL))
	if err != nil {
		return cli.Exit(cli.ExitUsage, err)
	}
	if err := earlier.Postback(ctx, dripcel.Sale{CampaignID: "demo-campaign", Cell: "27845550199",
		SoldAt: time.Date(2025, 10, 13, 0, 0, 0, 0, time.UTC)}); err != nil {
		return cli.Exit(cli.ExitTransport, err)
	}

	std.Out.Printf("A fake Dripcel is running at %s with campaign \"demo-campaign\"\n", srv.URL)
	std.Out.Printf("(country ZA, default sale value 150); it already has a sale for 27845550199 on 2025-10-13.\n\n")
	std.Out.Printf("sales.csv:\n%s\n", indent(demoCSV))
	std.Out.Printf("$ dripcel upload --region ZA --rejects rejects.csv sales.csv\n")

	err = upload(ctx, std, srv.Key, args)
	if code := cli.Code(err); code != cli.ExitOK && code != cli.ExitRejected {
		return err
	}
	std.Out.Printf("(exit code %d: some rows need action)\n\n", cli.Code(err))

	rj, err := os.ReadFile(rejectsPath)
	if err != nil {
		return cli.Exit(cli.ExitUsage, err)
	}
	std.Out.Printf("rejects.csv (the rows needing action: fix them and upload this file again):\n%s\n", indent(string(rj)))
	std.Out.Println("The fake Dripcel now holds:")
	for _, s := range srv.Sales() {
		value := fmt.Sprintf("%.2f", s.SaleValue)
		if s.DefaultValue {
			value += " (campaign default)"
		}
		std.Out.Printf("  %-13s cell %s  soldAt %-19s  value %s\n", s.CampaignID, s.Cell, s.SoldAt, value)
	}
	return nil
}

func indent(s string) string {
	out := make([]byte, 0, len(s)+64)
	start := true
	for i := 0; i < len(s); i++ {
		if start {
			out = append(out, "  "...)
		}
		out = append(out, s[i])
		start = s[i] == '\n'
	}
	return string(out)
}
