package dripcel

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// The Reporter's metrics: how many sales its queue holds, how long the
// oldest has waited, and how many Dripcel refused (handed to OnRejected).
// The gauges are read when the application's SDK collects, with a bounded
// wait, since reading a shared queue is a query.

// queueKinds are the values of the dripcel.queue attribute, by queueKind.
var queueKinds = [...]string{inMemory: "memory", inSpool: "spool", outside: "external"}

// registerMetrics registers the Reporter's queue gauges with its client's
// meter. It returns nil when the meter refuses them: telemetry never stops
// a Reporter.
func (r *Reporter) registerMetrics() metric.Registration {
	tel := r.client.tel
	kind := tel.queue[r.kind]
	reg, err := tel.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		o.ObserveInt64(tel.queueLength, int64(r.readLen(ctx)), kind.observe...)
		o.ObserveFloat64(tel.queueAge, r.oldest(ctx).Seconds(), kind.observe...)
		return nil
	}, tel.queueLength, tel.queueAge)
	if err != nil {
		return nil
	}
	return reg
}

// oldest is how long the oldest queued sale has waited, when the queue can
// say; 0 otherwise, or when asking fails.
func (r *Reporter) oldest(ctx context.Context) time.Duration {
	aq, ok := r.queue.(AgedQueue)
	if !ok {
		return 0
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	d, err := aq.Oldest(ctx)
	if err != nil {
		return 0
	}
	return d
}
