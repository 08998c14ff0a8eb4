// Command dripcel reports sales to Dripcel from files and the shell: it
// uploads CSV and JSON sales files, posts back one sale and converts cell
// numbers to the international digits Campaigns V2 need.
//
//	go install github.com/dripcel-go/dripcel/cmd/dripcel@latest
//	export DRIPCEL_API_KEY=...
//	dripcel upload --region ZA --rejects rejects.csv sales.csv
//	dripcel postback --campaign 639978184d735c88ed8bbd68 --cell 0631231234
//	dripcel normalize --region ZA 063 123 1234
//	dripcel demo        # no key needed: runs against a built-in fake Dripcel
//
// Run "dripcel help" for the exit codes and every flag. The tool is built
// only on the public packages dripcel and dripceltest.
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
	"github.com/spf13/cobra"
)

// Environment variables the tool reads.
const (
	envKey     = "DRIPCEL_API_KEY"
	envBaseURL = "DRIPCEL_BASE_URL"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// streams are the standard streams a command uses.
type streams struct {
	in       io.Reader
	out, err *printer
}

// run executes one command line and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	std := streams{in: stdin, out: &printer{w: stdout}, err: &printer{w: stderr}}
	root := newRootCmd(std)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil && err.Error() != "" {
		// The library's errors start with "dripcel: " too: say it once.
		std.err.println("dripcel:", strings.TrimPrefix(err.Error(), "dripcel: "))
	}
	if err := std.out.failed(); err != nil {
		std.err.printf("dripcel: writing standard output: %v\n", err)
	}
	return exitCode(err)
}

func newRootCmd(std streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "dripcel",
		Short: "Report sales to Dripcel from files and the shell",
		Long: `dripcel reports sales (conversions) to the Dripcel Sales API.

The API key is read only from the DRIPCEL_API_KEY environment variable, never
from a flag (a flag would be kept in your shell history and shown by ps).
DRIPCEL_BASE_URL or --base-url sends requests to another address.

` + exitCodesHelp,
		Example: `  export DRIPCEL_API_KEY=...            # a key with the sale.create permission
  dripcel upload --region ZA --rejects rejects.csv sales.csv
  dripcel postback --campaign 639978184d735c88ed8bbd68 --cell 0631231234
  dripcel normalize --region ZA "063 123 1234"
  dripcel demo                            # try it with no key, against a fake Dripcel`,
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(std.in)
	root.SetOut(std.out)
	root.SetErr(std.err)
	root.SetVersionTemplate("dripcel {{.Version}}\n")
	// Shell completion stays available ("dripcel completion bash") but out
	// of the command list, which is for reporting sales.
	root.CompletionOptions.HiddenDefaultCmd = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: err}
	})
	root.AddCommand(newUploadCmd(std), newPostbackCmd(std), newNormalizeCmd(std), newDemoCmd(std), newFakeCmd(std))
	return root
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
