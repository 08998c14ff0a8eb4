package main

import (
	"errors"
	"fmt"
)

// Exit codes, documented in the root command's help and the README.
const (
	exitOK        = 0 // every row is in Dripcel
	exitRejected  = 1 // Dripcel refused some rows, or some are invalid and were let go
	exitUsage     = 2 // bad flag, unreadable file, malformed row, missing key: nothing sent
	exitTransport = 3 // the key was refused, or the network or the service failed
	exitInterrupt = 130
)

// exitCodesHelp is shown in the root command's help; each command's help
// has its own table.
const exitCodesHelp = `Exit codes, the same for every command ("dripcel help COMMAND" says
what each means there):
  0    done: every sale is in Dripcel
  1    Dripcel refused some sales, or some need your action
  2    usage or input error; nothing was sent
  3    the key was refused, or the network or Dripcel failed; not delivered
  130  interrupted with Ctrl-C`

// exitError carries the process exit code with the error that caused it.
// An error with an empty message has already been reported.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError is an exit-2 error.
func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// exitCode is the code for err: untyped errors come from cobra's own
// argument and flag checks, so they are usage errors.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitUsage
}
