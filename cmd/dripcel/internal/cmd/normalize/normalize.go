// Package normalize is the normalize command: cells as the international
// digits Campaigns V2 need.
package normalize

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/export"
	"io"
	"strings"

	"github.com/dripcel-go/dripcel"
	"github.com/spf13/cobra"
)

// NewCmd is the normalize command.
func NewCmd(std cli.Streams) *cobra.Command {
	var region string
	cmd := &cobra.Command{
		Use:   "normalize --region ZA [CELL…]",
		Short: "Print cell numbers as international digits (Campaigns V2)",
		Long: `Print each CELL, or each line of standard input when no CELL is given, as
the international digits Campaigns V2 need (27631231234), one a line.

Local numbers are read as numbers of --region. Spaces, brackets, dashes and
dots are ignored; numbers with a leading + or 00 need no region. A cell that
cannot be converted is reported on standard error, quoted, and makes the exit
code 1; the others are still printed. Blank lines are skipped.

Exit codes: 0 every cell converted; 1 some could not be; 2 usage error
(such as an unknown region).`,
		Example: `  dripcel normalize --region ZA 0631231234 "(082) 123-4567" +27721234567
  # 27631231234
  # 27821234567
  # 27721234567

  cut -d, -f2 customers.csv | dripcel normalize --region ZA > cells.txt`,
		RunE: func(_ *cobra.Command, args []string) error {
			return runNormalize(std, region, args)
		},
	}
	cmd.Flags().StringVar(&region, "region", "", "the region local numbers are read in: an ISO 3166 code such as ZA")
	return cmd
}

func runNormalize(std cli.Streams, region string, args []string) error {
	if region != "" {
		r, err := export.CheckRegion(region)
		if err != nil {
			return err
		}
		region = r
	}
	bw := bufio.NewWriter(std.Out)
	out := cli.NewPrinter(bw)
	bad := 0
	convert := func(cell string) {
		if strings.TrimSpace(cell) == "" {
			return
		}
		digits, err := dripcel.ToInternational(cell, region)
		if err != nil {
			bad++
			_ = bw.Flush() // keep stdout and stderr in order on a terminal
			std.Err.Printf("dripcel: %s\n", strings.TrimPrefix(err.Error(), "dripcel: "))
			return
		}
		out.Println(digits)
	}
	if len(args) > 0 {
		for _, a := range args {
			convert(a)
		}
	} else if err := eachLine(std.In, convert); err != nil {
		_ = bw.Flush()
		return cli.Exit(cli.ExitUsage, fmt.Errorf("reading stdin: %w", err))
	}
	if err := bw.Flush(); err != nil || out.Failed() != nil {
		return cli.Exit(cli.ExitUsage, fmt.Errorf("writing standard output: %w", errors.Join(out.Failed(), err)))
	}
	if bad > 0 {
		return cli.Exit(cli.ExitRejected, fmt.Errorf("%s could not be converted", cli.Plural(bad, "cell")))
	}
	return nil
}

// eachLine calls fn with each line of r, without line ends or a leading
// byte order mark.
func eachLine(r io.Reader, fn func(string)) error {
	sc := bufio.NewScanner(r)
	first := true
	for sc.Scan() {
		line := sc.Bytes()
		if first {
			line, first = bytes.TrimPrefix(line, export.UTF8BOM), false
		}
		fn(string(bytes.TrimRight(line, "\r")))
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
