// Command dripcel reports sales to Dripcel from files and the shell: it
// uploads CSV and JSON sales files, posts back one sale, converts cell
// numbers to the international digits Campaigns V2 need, and looks after
// the PostgreSQL outbox of package dripcelpg.
//
//	go install github.com/dripcel-go/dripcel/cmd/dripcel@latest
//	export DRIPCEL_API_KEY=...
//	dripcel upload --region ZA --rejects rejects.csv sales.csv
//	dripcel postback --campaign 639978184d735c88ed8bbd68 --cell 0631231234
//	dripcel normalize --region ZA 063 123 1234
//	dripcel demo        # no key needed: runs against a built-in fake Dripcel
//	dripcel outbox status --schema shop   # DATABASE_URL or PG* name the database
//
// Run "dripcel help" for the exit codes and every flag. The tool is built
// only on the public packages dripcel, dripceltest and dripcelpg.
//
// This file only wires the commands together. Each command lives in its
// own package under internal/cmd with its flags and tests; reading exports
// is internal/export, and what they share (output, exit codes, messages)
// is internal/cli.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cmd/demo"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cmd/fake"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cmd/normalize"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cmd/outbox"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cmd/postback"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cmd/upload"
	"github.com/spf13/cobra"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	std := cli.Streams{In: stdin, Out: cli.NewPrinter(stdout), Err: cli.NewPrinter(stderr)}
	root := newRootCmd(std)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	report(std, err)
	return cli.Code(err)
}

// report prints err, once, and a failure to write standard output.
func report(std cli.Streams, err error) {
	if err != nil && err.Error() != "" {
		// The library's errors start with "dripcel: " too: say it once.
		std.Err.Println("dripcel:", strings.TrimPrefix(err.Error(), "dripcel: "))
	}
	if err := std.Out.Failed(); err != nil {
		std.Err.Printf("dripcel: writing standard output: %v\n", err)
	}
}

func newRootCmd(std cli.Streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "dripcel",
		Short: "Report sales to Dripcel from files and the shell",
		Long: `dripcel reports sales (conversions) to the Dripcel Sales API.

The API key is read only from the DRIPCEL_API_KEY environment variable, never
from a flag (a flag would be kept in your shell history and shown by ps).
DRIPCEL_BASE_URL or --base-url sends requests to another address.

` + cli.ExitCodesHelp,
		Example: `  export DRIPCEL_API_KEY=...            # a key with the sale.create permission
  dripcel upload --region ZA --rejects rejects.csv sales.csv
  dripcel postback --campaign 639978184d735c88ed8bbd68 --cell 0631231234
  dripcel normalize --region ZA "063 123 1234"
  dripcel demo                            # try it with no key, against a fake Dripcel
  dripcel outbox status                   # a service's PostgreSQL outbox (DATABASE_URL)`,
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	setStreams(root, std)
	root.SetVersionTemplate("dripcel {{.Version}}\n")
	// Shell completion stays available ("dripcel completion bash") but out
	// of the command list, which is for reporting sales.
	root.CompletionOptions.HiddenDefaultCmd = true
	root.AddCommand(upload.NewCmd(std), postback.NewCmd(std), normalize.NewCmd(std),
		demo.NewCmd(std, runUpload), fake.NewCmd(std), outbox.NewCmd(std))
	return root
}

// setStreams points cmd at std, and makes its flag errors usage errors.
func setStreams(cmd *cobra.Command, std cli.Streams) {
	cmd.SetIn(std.In)
	cmd.SetOut(std.Out)
	cmd.SetErr(std.Err)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return cli.Exit(cli.ExitUsage, err)
	})
}

// runUpload runs the upload command for the demo, with the demo's key.
func runUpload(ctx context.Context, std cli.Streams, key string, args []string) error {
	cmd := upload.Command(std, key)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	setStreams(cmd, std)
	cmd.SetArgs(args)
	return cmd.ExecuteContext(ctx)
}

// version names the module version (set by go install …@vX.Y.Z), the
// library version and the Go release.
func version() string {
	mod := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		mod = bi.Main.Version
	}
	return fmt.Sprintf("%s (library %s, %s)", mod, dripcel.Version, runtime.Version())
}
