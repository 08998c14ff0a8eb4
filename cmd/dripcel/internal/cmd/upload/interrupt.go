package upload

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// onInterrupt makes the first Ctrl-C (or SIGTERM) stop reading and
// sending: the request in flight is let finish, so its answer is not lost,
// and no other is sent, not even while a refused request is being settled
// sale by sale. The second abandons the request in flight at once. It
// returns the function that stops listening.
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
				u.std.Err.Println("\ninterrupted: sending no more requests; waiting for the answer to the one in flight (Ctrl-C again to abandon it)")
				u.sender.drain()
				continue
			}
			u.abandoned.Store(true)
			cancel()
		}
	}()
	return func() {
		signal.Stop(sig)
		close(done)
	}
}
