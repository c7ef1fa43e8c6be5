package main

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is a local OTLP/HTTP endpoint that keeps every span it is sent.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
	posts int
}

func startReceiver(t *testing.T) (*otlpReceiver, string) {
	t.Helper()
	r := &otlpReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var export coltracepb.ExportTraceServiceRequest
		if req.URL.Path != "/v1/traces" || proto.Unmarshal(body, &export) != nil {
			http.Error(w, "not an OTLP trace export", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.posts++
		for _, rs := range export.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				r.spans = append(r.spans, ss.Spans...)
			}
		}
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return r, srv.URL
}

func attr(s *tracepb.Span, key string) string {
	for _, a := range s.Attributes {
		if a.Key == key {
			if v := a.Value.GetStringValue(); v != "" {
				return v
			}
			return a.Value.String()
		}
	}
	return ""
}

func boolAttr(s *tracepb.Span, key string) bool {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value.GetBoolValue()
		}
	}
	return false
}

// A job exports its spans to the endpoint the standard variables name: the job under the CI's
// TRACEPARENT, each cell under the job, each step under its cell, each loop item under its
// step, each try under its step or item, with the step's id, type and status.
func TestTracesOfAJob(t *testing.T) {
	receiver, endpoint := startReceiver(t)
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	const traceID, parentID = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	t.Setenv("TRACEPARENT", "00-"+traceID+"-"+parentID+"-01")
	counter := filepath.Join(dir, "tries")
	flaky := "  - {name: flaky, id: flaky, retry: {attempts: 2, delay: 10ms}, exec: {shell: 'echo x >> " + counter + "; [ $(wc -l < " + counter + ") -ge 2 ]'}}\n" +
		"  - {name: broken, id: broken, ignoreErrors: true, exec: {argv: ['false']}}\n"
	a := cellPlaybook(t, dir, "one", "iptables", flaky)
	b := cellPlaybook(t, dir, "two", "iptables", "")
	if _, stderr, code := runCLI(t, "run", a, b); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	receiver.mu.Lock()
	defer receiver.mu.Unlock()
	byID := map[string]*tracepb.Span{}
	for _, s := range receiver.spans {
		byID[hex.EncodeToString(s.SpanId)] = s
		if got := hex.EncodeToString(s.TraceId); got != traceID {
			t.Errorf("span %q in trace %s, want the CI's %s", s.Name, got, traceID)
		}
	}
	parentOf := func(s *tracepb.Span) string {
		if p := byID[hex.EncodeToString(s.ParentSpanId)]; p != nil {
			return p.Name
		}
		return hex.EncodeToString(s.ParentSpanId)
	}
	// chain is a span's name and its ancestors', up to the cell: "item 1 < step each item < cell one".
	chain := func(s *tracepb.Span) string {
		names := s.Name
		for p := byID[hex.EncodeToString(s.ParentSpanId)]; p != nil && !strings.HasPrefix(names, "cell "); p = byID[hex.EncodeToString(p.ParentSpanId)] {
			if strings.HasPrefix(p.Name, "job ") {
				break
			}
			names += " < " + p.Name
		}
		return names
	}
	find := func(name, parent string) []*tracepb.Span {
		var out []*tracepb.Span
		for _, s := range receiver.spans {
			inCellOne := strings.HasSuffix(chain(s), "< cell one")
			if s.Name == name && parentOf(s) == parent && (inCellOne || strings.HasPrefix(name, "job ") || strings.HasPrefix(name, "cell ")) {
				out = append(out, s)
			}
		}
		return out
	}
	checks := []struct {
		name, parent string
		count        int
	}{
		{"job one, two", parentID, 1},
		{"cell one", "job one, two", 1}, {"cell two", "job one, two", 1},
		{"step flaky", "cell one", 1}, {"attempt 1", "step flaky", 1}, {"attempt 2", "step flaky", 1},
		{"step each item", "cell one", 1}, {"item 1", "step each item", 1}, {"item 2", "step each item", 1},
		{"attempt 1", "item 1", 1}, {"step mark", "cell one", 1},
		{"step broken", "cell one", 1},
	}
	for _, c := range checks {
		if got := find(c.name, c.parent); len(got) != c.count {
			t.Errorf("%d spans %q under %q, want %d", len(got), c.name, c.parent, c.count)
		}
	}
	if s := find("step flaky", "cell one"); len(s) == 1 && (attr(s[0], "playbook.step.id") != "flaky" || attr(s[0], "playbook.step.type") != "exec" ||
		attr(s[0], "playbook.status") != "succeeded") {
		t.Errorf("step attributes: %v", s[0].Attributes)
	}
	if s := find("step mark", "cell one"); len(s) == 1 && !boolAttr(s[0], "playbook.step.finally") {
		t.Errorf("the finally step is not marked as one: %v", s[0].Attributes)
	}
	if s := find("attempt 1", "step flaky"); len(s) == 1 && s[0].Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("the failed first try's status: %v", s[0].Status)
	}
	if s := find("step broken", "cell one"); len(s) == 1 && !boolAttr(s[0], "playbook.ignored") {
		t.Errorf("an ignored failure is not marked: %v", s[0].Attributes)
	}
}

// With OTEL_TRACES_EXPORTER=none, or no endpoint, nothing is sent.
func TestNoTracesUnlessAsked(t *testing.T) {
	receiver, endpoint := startReceiver(t)
	pb := writePlaybook(t, "steps:\n  - {name: a, log: {message: hi}}\n")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	if _, stderr, code := runCLI(t, "run", pb); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	os.Unsetenv("OTEL_TRACES_EXPORTER")
	receiver.mu.Lock()
	defer receiver.mu.Unlock()
	if receiver.posts != 0 {
		t.Errorf("%d exports although traces were off", receiver.posts)
	}
}
