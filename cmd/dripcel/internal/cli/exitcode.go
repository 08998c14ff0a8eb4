package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// Exit codes, documented in the root command's help, each command's help
// and the README.
const (
	ExitOK        = 0 // every row is in Dripcel
	ExitRejected  = 1 // Dripcel refused some rows, or some are invalid and were let go
	ExitUsage     = 2 // bad flag, unreadable file, malformed row, missing key: nothing sent
	ExitTransport = 3 // the key was refused, or the network or the service failed
	// ExitIncomplete: something was sent, then the run could not finish
	// its own work (the file changed between its passes, the rejects file
	// could not be written). Exit 2 would wrongly say nothing was sent.
	ExitIncomplete = 4
	ExitInterrupt  = 130
)

// ExitCodesHelp is shown in the root command's help; each command's help
// has its own table.
const ExitCodesHelp = `Exit codes, the same for every command ("dripcel help COMMAND" says
what each means there):
  0    done: every sale is in Dripcel
  1    Dripcel refused some sales, or some need your action (outbox:
       nothing matched)
  2    usage or input error; nothing was sent (outbox: nothing changed)
  3    the key was refused, or the network or Dripcel failed; not delivered
       (outbox: the database failed)
  4    some sales were sent, then the run could not finish its own work
       (the file changed while it was read, the rejects file could not
       be written); the summary says what was sent
  130  interrupted with Ctrl-C`

// ExitError carries the process exit code with the error that caused it.
// An error with an empty message has already been reported.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return ""
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Exit is an error with exit code code.
func Exit(code int, err error) error { return &ExitError{Code: code, Err: err} }

// Usage is an exit-2 error: nothing was sent.
func Usage(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// Code is the exit code for err: untyped errors come from cobra's own
// argument and flag checks, so they are usage errors.
func Code(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitUsage
}

// ExactArgs is cobra.ExactArgs with a message that says what is wanted.
func ExactArgs(n int, msg string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return Usage("%s", msg)
		}
		return nil
	}
}
