package dripcel

import (
	"context"
	"log/slog"
)

// waitAdding waits for the Report calls still adding to the queue, until
// ctx ends. It reports whether they all returned. A Report stuck on a
// stalled disk ends with its own context and keeps its own outcome; Close
// does not wait for it past Close's context.
func (r *Reporter) waitAdding(ctx context.Context) bool {
	done := make(chan struct{})
	go func() {
		r.adding.Wait()
		close(done)
	}()
	return closedBefore(ctx, done)
}

// closedBefore reports whether done is closed, waiting for it until ctx
// ends; one already closed wins over a context already ended.
func closedBefore(ctx context.Context, done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
	}
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// waitSender waits for the sending goroutine to stop, until ctx ends, and
// reports whether it did. Once told to stop it sends nothing more, but it
// records the answers it already has (Settle, Keep), each bounded: a queue
// that stalls there (a disk, a database) holds it, not Close.
func (r *Reporter) waitSender(ctx context.Context) bool { return closedBefore(ctx, r.done) }

// closeQueueLater closes the queue once the Report calls still adding to
// it, and the sender still recording answers, have returned: closing it
// under them could lose a sale they are writing, and a spool file stays
// locked until then.
func (r *Reporter) closeQueueLater() {
	go func() {
		r.adding.Wait()
		<-r.done
		if err := r.queue.Close(); err != nil {
			r.client.logger.LogAttrs(context.Background(), slog.LevelWarn, "dripcel: reporter: closing the queue after the last Report returned",
				slog.String("error", err.Error()))
		}
	}()
}
