package upload

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// onInterrupt makes the first Ctrl-C (or SIGTERM) stop reading and the
// second abandon the request in flight. It returns the function that
// stops listening.
func (u *upload) onInterrupt(cancel context.CancelFunc) func() {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for n := 0; ; n++ {
			select {
			case <-sig:
			case <-done:
				return
			}
			if n == 0 {
				u.interrupted.Store(true)
				close(u.stop)
				u.std.Err.Println("\ninterrupted: finishing the batch in flight (Ctrl-C again to abandon it)")
				continue
			}
			cancel()
		}
	}()
	return func() {
		signal.Stop(sig)
		close(done)
	}
}
