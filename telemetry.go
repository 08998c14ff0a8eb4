package dripcel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dripcel-go/dripcel/internal/transport"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Telemetry goes through OpenTelemetry's API only: without WithMeterProvider
// and WithTracerProvider the client uses the global providers, which do
// nothing until the application installs an SDK. Attributes are kept to a
// few values each (the call, a status class, a fate): never a cell, a key,
// a campaign or a URL's query.

// instrumentation is the name the meter and the tracer carry.
const instrumentation = "github.com/dripcel-go/dripcel"

// The attribute keys of the library's own metrics and spans.
const (
	// attrCall is "upload" (POST /sales) or "postback" (GET /sales/create).
	attrCall = attribute.Key("dripcel.call")
	// attrStatusClass is "2xx", "3xx", "4xx", "5xx", or "error" when no
	// answer came (a network failure, a timeout).
	attrStatusClass = attribute.Key("dripcel.status_class")
	// attrFate is a sale's fate: "recorded", "already_recorded",
	// "refused", "not_delivered", or "invalid" for a sale refused before
	// anything was sent.
	attrFate = attribute.Key("dripcel.fate")
	// attrQueue is where a Reporter keeps its sales: "memory", "spool", or
	// "external" for a Queue given with WithQueue (dripcelpg's outbox).
	attrQueue = attribute.Key("dripcel.queue")
)

const (
	callUpload   = "upload"
	callPostback = "postback"
)

var statusClasses = [...]string{"error", "2xx", "3xx", "4xx", "5xx"}

// fateNames are the values of attrFate, by Fate; index 0 is "invalid".
var fateNames = [...]string{"invalid", "recorded", "already_recorded", "refused", "not_delivered"}

// telemetry is a client's instruments and tracer. Its measurement options
// are built once, so that recording costs no allocation.
type telemetry struct {
	meter      metric.Meter
	tracer     trace.Tracer
	clientKind []trace.SpanStartOption // made once: an option built per span allocates
	uploadKind []trace.SpanStartOption
	requests   metric.Int64Counter
	duration   metric.Float64Histogram
	limited    metric.Int64Counter
	budgetWait metric.Float64Counter
	sales      metric.Int64Counter

	// The Reporter's: read by a callback each Reporter registers.
	queueLength metric.Int64ObservableGauge
	queueAge    metric.Float64ObservableGauge
	rejected    metric.Int64Counter
	queue       [3]measure // by queueKind

	// byCall[call][class], byFate[call][fate] and call[call] are the
	// options of a measurement, as slices made once: passing a slice
	// made at the call would allocate it on every measurement.
	byCall [2][len(statusClasses)]measure
	byFate [2][len(fateNames)]measure
	call   [2]measure
}

// measure is one attribute set as the options of an Add and a Record.
type measure struct {
	add     []metric.AddOption
	record  []metric.RecordOption
	observe []metric.ObserveOption
}

func measureOf(kvs ...attribute.KeyValue) measure {
	o := metric.WithAttributeSet(attribute.NewSet(kvs...))
	return measure{add: []metric.AddOption{o}, record: []metric.RecordOption{o}, observe: []metric.ObserveOption{o}}
}

func newTelemetry(mp metric.MeterProvider, tp trace.TracerProvider) *telemetry {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	m := mp.Meter(instrumentation, metric.WithInstrumentationVersion(Version))
	t := &telemetry{
		meter:      m,
		tracer:     tp.Tracer(instrumentation, trace.WithInstrumentationVersion(Version)),
		clientKind: []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)},
		uploadKind: []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)},
	}
	// An instrument that cannot be made (a provider refusing a name) is
	// replaced by a no-op one: telemetry never stops a sale.
	t.requests, _ = m.Int64Counter("dripcel.client.requests", metric.WithUnit("{request}"),
		metric.WithDescription("Requests sent to Dripcel, retries included, by call and status class."))
	t.duration, _ = m.Float64Histogram("dripcel.client.request.duration", metric.WithUnit("s"),
		metric.WithDescription("How long each request to Dripcel took, from sending to the answer's headers."),
		metric.WithExplicitBucketBoundaries(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
	t.limited, _ = m.Int64Counter("dripcel.client.rate_limited", metric.WithUnit("{response}"),
		metric.WithDescription("Answers 429: the organisation's budget was spent."))
	t.budgetWait, _ = m.Float64Counter("dripcel.client.budget.wait", metric.WithUnit("s"),
		metric.WithDescription("Time requests spent waiting for their turn in the rate budget, and for the pause after a 429."))
	t.sales, _ = m.Int64Counter("dripcel.client.sales", metric.WithUnit("{sale}"),
		metric.WithDescription("Sales given to UploadSales, UploadSalesSeq and Postback, by call and fate."))
	t.queueLength, _ = m.Int64ObservableGauge("dripcel.reporter.queue.length", metric.WithUnit("{sale}"),
		metric.WithDescription("Sales a Reporter's queue holds, waiting for Dripcel's verdict (claimed ones included)."))
	t.queueAge, _ = m.Float64ObservableGauge("dripcel.reporter.queue.oldest_age", metric.WithUnit("s"),
		metric.WithDescription("How long the oldest sale in a Reporter's queue has waited since it was reported."))
	t.rejected, _ = m.Int64Counter("dripcel.reporter.rejected", metric.WithUnit("{sale}"),
		metric.WithDescription("Sales Dripcel refused that a Reporter handed to OnRejected."))
	for k, kind := range queueKinds {
		t.queue[k] = measureOf(attrQueue.String(kind))
	}
	for ci, call := range [...]string{callUpload, callPostback} {
		t.call[ci] = measureOf(attrCall.String(call))
		for k, class := range statusClasses {
			t.byCall[ci][k] = measureOf(attrCall.String(call), attrStatusClass.String(class))
		}
		for f, fate := range fateNames {
			t.byFate[ci][f] = measureOf(attrCall.String(call), attrFate.String(fate))
		}
	}
	return t
}

// callIndex is 0 for an upload and 1 for a postback, by the request path.
func callIndex(path string) int {
	if strings.HasSuffix(path, "/create") {
		return 1
	}
	return 0
}

// classIndex is the index in statusClasses of an answer's status; 0 for
// no answer.
func classIndex(status int) int {
	if status < 200 || status >= 600 {
		return 0
	}
	return status/100 - 1
}

// countSales records n sales of one fate (0 for invalid).
func (t *telemetry) countSales(ctx context.Context, call int, f Fate, n int) {
	if n > 0 && int(f) < len(fateNames) {
		t.sales.Add(ctx, int64(n), t.byFate[call][f].add...)
	}
}

// countUpload records the fates of an upload of total sales (-1 when the
// number is not known, for a stream that never read one) given its error.
func (t *telemetry) countUpload(ctx context.Context, total int, err error) (counts [len(fateNames)]int) {
	var ue *UploadError
	switch {
	case err == nil:
		counts[Recorded] = max(total, 0)
	case errors.As(err, &ue):
		for _, f := range []Fate{Recorded, AlreadyRecorded, Refused, NotDelivered} {
			counts[f] = ue.Count(f)
		}
		// A Reporter's tail, held back to fill a later request, is not
		// an outcome yet: it is counted when it is sent.
		for _, be := range ue.Batches {
			if errors.Is(be.Err, errTailHeld) {
				counts[NotDelivered] -= be.Last - be.First + 1
			}
		}
	case errors.Is(err, ErrInvalidSale):
		counts[0] = max(total, 0)
	default:
		counts[NotDelivered] = max(total, 0)
	}
	for f, n := range counts {
		t.countSales(ctx, 0, Fate(f), n)
	}
	return counts
}

// startUpload starts the span around an upload.
func (t *telemetry) startUpload(ctx context.Context, name string) (context.Context, trace.Span) {
	return t.tracer.Start(ctx, "dripcel."+name, t.uploadKind...)
}

// endUpload records an upload's fates and ends its span, with the count
// of each fate as attributes.
func (t *telemetry) endUpload(ctx context.Context, span trace.Span, total int, err error) {
	counts := t.countUpload(ctx, total, err)
	if span.IsRecording() {
		sum := 0
		for _, n := range counts {
			sum += n
		}
		span.SetAttributes(attribute.Int("dripcel.sales", sum))
		for f, n := range counts {
			span.SetAttributes(attribute.Int("dripcel.sales."+fateNames[f], n))
		}
		if err != nil {
			span.SetStatus(codes.Error, errorSummary(err, counts))
		}
	}
	span.End()
}

// errorSummary describes an upload's error for its span's status in words
// of the library's own: never the error's text, which can quote a sale's
// cell (a validation error) or whatever a proxy answered.
func errorSummary(err error, counts [len(fateNames)]int) string {
	var ue *UploadError
	switch {
	case errors.As(err, &ue):
		return fmt.Sprintf("%d refused, %d not delivered, %d already recorded",
			counts[Refused], counts[NotDelivered], counts[AlreadyRecorded])
	case errors.Is(err, ErrInvalidSale):
		return "invalid sales: none sent"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "the context ended: none sent"
	}
	return "none sent"
}

// waited records time a request of the call made with ctx spent waiting
// for the budget.
func (t *telemetry) waited(ctx context.Context, d time.Duration) {
	if d > 0 {
		call := 0
		if transport.PlacementOf(ctx) == transport.Query {
			call = 1
		}
		t.budgetWait.Add(ctx, d.Seconds(), t.call[call].add...)
	}
}

// tracing is the RoundTripper that makes a client span of every attempt
// and counts it. It sits above the transport that adds the key, so the
// URL it sees has none, and it leaves the query out all the same: a
// postback's query holds the customer's cell.
type tracing struct {
	base http.RoundTripper
	tel  *telemetry
}

func (tr *tracing) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	call := callIndex(req.URL.Path)
	ctx, span := tr.tel.tracer.Start(ctx, req.Method, tr.tel.clientKind...)
	if span.IsRecording() {
		attrs := []attribute.KeyValue{
			attribute.String("http.request.method", req.Method),
			attribute.String("url.full", transport.URL(req.URL)),
			attribute.String("server.address", req.URL.Hostname()),
			attrCall.String([...]string{callUpload, callPostback}[call]),
		}
		if port, err := strconv.Atoi(req.URL.Port()); err == nil {
			attrs = append(attrs, attribute.Int("server.port", port))
		}
		if n := attemptsSoFar(ctx); n > 1 {
			attrs = append(attrs, attribute.Int("http.request.resend_count", n-1))
		}
		span.SetAttributes(attrs...)
		req = req.WithContext(ctx)
	}
	start := time.Now()
	resp, err := tr.base.RoundTrip(req)
	elapsed := time.Since(start).Seconds()
	status := 0
	if err == nil {
		status = resp.StatusCode
	}
	class := tr.tel.byCall[call][classIndex(status)]
	tr.tel.requests.Add(ctx, 1, class.add...)
	tr.tel.duration.Record(ctx, elapsed, class.record...)
	if status == http.StatusTooManyRequests {
		tr.tel.limited.Add(ctx, 1, tr.tel.call[call].add...)
	}
	if span.IsRecording() {
		switch {
		case err != nil:
			span.SetAttributes(attribute.String("error.type", errorType(err)))
			span.SetStatus(codes.Error, "no answer")
		default:
			span.SetAttributes(attribute.Int("http.response.status_code", status))
			if status >= 400 {
				span.SetAttributes(attribute.String("error.type", strconv.Itoa(status)))
				span.SetStatus(codes.Error, "")
			}
		}
	}
	span.End()
	return resp, err
}

// errorType names a transport failure for error.type, in a few values.
func errorType(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "transport"
}

// attemptsSoFar is the number of the attempt being made (1 for the first),
// as the retry layer's hook counted it; 0 outside a call.
func attemptsSoFar(ctx context.Context) int {
	if a, ok := ctx.Value(attemptsKey{}).(*attempts); ok {
		return a.n
	}
	return 0
}
