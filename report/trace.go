package report

import (
	"context"
	"os"
	"strconv"
	"time"

	"github.com/kindlab/playbook/engine"
	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
)

// TraceReporter turns the events into OpenTelemetry spans: the job, each cell, each step, each
// loop item and each retry attempt, timed by the events themselves, and exports them where
// the standard variables say (autoexport). A CI system's TRACEPARENT becomes the parent.
type TraceReporter struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	root     context.Context
	job      trace.Span
	cells    map[string]*cellSpans
}

type cellSpans struct {
	span     trace.Span
	ctx      context.Context
	steps    map[string]*stepSpans // by step name, while it runs
	attempts int
}

type stepSpans struct {
	span  trace.Span
	ctx   context.Context
	items map[string]trace.Span
	// The running attempt of the step ("") or of each item: when it began, and its number.
	// Its span is made when it ends, started back then: only then is it known that a looped
	// step's own tries are its items'.
	began  map[string]time.Time
	number map[string]int
	looped bool
}

// TracesWanted reports whether the environment asks for traces: an OTLP endpoint, or an
// exporter named (other than none). When it does not, no exporter is made and no time spent.
func TracesWanted() bool {
	if v := os.Getenv("OTEL_TRACES_EXPORTER"); v != "" {
		return v != "none"
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// NewTraceReporter makes the exporter the environment names, or returns nil when it names
// none. job names the root span.
func NewTraceReporter(ctx context.Context, job string) (*TraceReporter, error) {
	if !TracesWanted() {
		return nil, nil
	}
	exporter, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, err
	}
	res, err := sdkresource.Merge(sdkresource.Default(), sdkresource.NewSchemaless(semconv.ServiceName("playbook")))
	if err != nil {
		return nil, err
	}
	provider := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	parent := propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": os.Getenv("TRACEPARENT")})
	r := &TraceReporter{provider: provider, tracer: provider.Tracer("github.com/kindlab/playbook"), cells: map[string]*cellSpans{}}
	r.root, r.job = r.tracer.Start(parent, "job "+job, trace.WithAttributes(attribute.String("playbook.job", job)))
	return r, nil
}

func (r *TraceReporter) Handle(e engine.Event) {
	name := CellOf(e)
	c := r.cells[name]
	switch e.Type {
	case engine.RunStarted:
		c = &cellSpans{steps: map[string]*stepSpans{}}
		c.ctx, c.span = r.tracer.Start(r.root, "cell "+name, trace.WithTimestamp(e.Time),
			trace.WithAttributes(attribute.String("playbook.cell", name), attribute.String("playbook.playbook", e.Playbook)))
		r.cells[name] = c
		return
	case engine.RunFinished:
		if c != nil {
			end(c.span, e)
			delete(r.cells, name)
		}
		return
	}
	if c == nil {
		return
	}
	s := c.steps[e.Step]
	switch e.Type {
	case engine.StepStarted:
		s = &stepSpans{items: map[string]trace.Span{}, began: map[string]time.Time{"": e.Time}, number: map[string]int{}}
		s.ctx, s.span = r.tracer.Start(c.ctx, "step "+e.Step, trace.WithTimestamp(e.Time), trace.WithAttributes(stepAttributes(e)...))
		c.steps[e.Step] = s
	case engine.ItemStarted:
		if s != nil {
			s.looped = true
			_, span := r.tracer.Start(s.ctx, "item "+e.Item, trace.WithTimestamp(e.Time),
				trace.WithAttributes(append(stepAttributes(e), attribute.String("playbook.item", e.Item))...))
			s.items[e.Item] = span
			s.began[e.Item] = e.Time
		}
	case engine.StepRetrying:
		if s != nil {
			r.attempt(s, e.Item, e, true)
		}
	case engine.ItemFinished:
		if s != nil {
			r.attempt(s, e.Item, e, false)
			if item := s.items[e.Item]; item != nil {
				end(item, e)
				delete(s.items, e.Item)
			}
		}
	case engine.StepFinished:
		if s == nil { // not run, or replayed: a span of no length says so
			_, span := r.tracer.Start(c.ctx, "step "+e.Step, trace.WithTimestamp(e.Time), trace.WithAttributes(stepAttributes(e)...))
			end(span, e)
			return
		}
		if !s.looped && e.Status != engine.StatusSkipped && e.Status != engine.StatusNotRun {
			r.attempt(s, "", e, false)
		}
		end(s.span, e)
		delete(c.steps, e.Step)
	}
}

// attempt records one try of the step ("") or of an item, from when it began to e: a retry
// (which failed, and begins the next try) or the end.
func (r *TraceReporter) attempt(s *stepSpans, item string, e engine.Event, retry bool) {
	parent := s.ctx
	if span := s.items[item]; span != nil {
		parent = trace.ContextWithSpan(s.ctx, span)
	}
	s.number[item]++
	_, span := r.tracer.Start(parent, "attempt "+strconv.Itoa(s.number[item]), trace.WithTimestamp(s.began[item]),
		trace.WithAttributes(attribute.Int("playbook.attempt", s.number[item])))
	if retry {
		span.SetStatus(codes.Error, e.Error)
		span.End(trace.WithTimestamp(e.Time))
		s.began[item] = e.Time
		return
	}
	end(span, e)
}

func stepAttributes(e engine.Event) []attribute.KeyValue {
	return []attribute.KeyValue{attribute.String("playbook.step.name", e.Step), attribute.String("playbook.step.id", e.ID),
		attribute.String("playbook.step.type", e.StepType), attribute.Bool("playbook.step.finally", e.Finally)}
}

func end(span trace.Span, e engine.Event) {
	if e.Status != "" {
		span.SetAttributes(attribute.String("playbook.status", string(e.Status)))
	}
	switch {
	case e.Status == engine.StatusFailed && e.Ignored:
		span.SetAttributes(attribute.Bool("playbook.ignored", true))
	case e.Status == engine.StatusFailed || e.Status == engine.StatusCancelled:
		span.SetStatus(codes.Error, e.Error)
	case e.Status == engine.StatusSucceeded:
		span.SetStatus(codes.Ok, "")
	}
	span.End(trace.WithTimestamp(e.Time))
}

// Close ends the job's span and sends what is left.
func (r *TraceReporter) Close() error {
	r.job.End()
	return r.provider.Shutdown(context.Background())
}
