package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/kube"
	"github.com/kindlab/playbook/internal/pullhint"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

type waitParams struct {
	kube.Target `yaml:",inline"`
	For         string          `yaml:"for" doc:"nodesReady, rollout (DaemonSet, Deployment, StatefulSet), podsReady, established (a CRD) or condition"`
	Kind        string          `yaml:"kind" doc:"kind of the objects (rollout and condition)"`
	APIVersion  string          `yaml:"apiVersion" doc:"exact apiVersion when a kind name is ambiguous"`
	Name        string          `yaml:"name" doc:"one object; without it, all that match selector"`
	Namespace   string          `yaml:"namespace" doc:"namespace of namespaced kinds (default: the kubeconfig context's, else default)"`
	Selector    string          `yaml:"selector" doc:"label selector"`
	Condition   *engine.Expr    `yaml:"condition" doc:"expression over object that every matched object must meet, e.g. object.status.phase == \"Active\"" pb:"bool,object"`
	Count       int             `yaml:"count" doc:"at least this many objects must match (default 1)"`
	Timeout     engine.Duration `yaml:"timeout" doc:"how long to wait (default 5m, or the step's timeout)"`
}

var waitKinds = []string{"nodesReady", "rollout", "podsReady", "established", "condition"}

const defaultWait = 5 * time.Minute

func init() {
	engine.Register(engine.StepType[waitParams]{
		Name:    "waitFor",
		Summary: "watch objects until a condition holds: nodes Ready, a rollout done, pods Ready, a CRD Established, any expression",
		Example: `- name: Cilium rolled out
  waitFor:
    for: rollout
    kind: DaemonSet
    namespace: kube-system
    name: cilium
    timeout: 5m`,
		Outputs: []engine.OutputDoc{
			{Name: "objects", Type: "list", Doc: "the matched objects when the condition held"},
			{Name: "seconds", Type: "float", Doc: "how long it took"},
		},
		Validate: validateWait,
		// A pull that failed for lack of a network says what to do instead.
		Run: func(ctx context.Context, rt *engine.Runtime, p *waitParams) (map[string]any, error) {
			out, err := runWait(ctx, rt, p)
			return out, pullhint.Explain(err)
		},
	})
}

func validateWait(p *waitParams) error {
	if p.For == "" && p.Condition != nil {
		p.For = "condition"
	}
	if !slices.Contains(waitKinds, p.For) {
		return engine.Errorf("for", "must be one of %s, got %q%s", strings.Join(waitKinds, ", "), p.For, didYouMean(p.For, waitKinds))
	}
	switch {
	case p.For == "condition" && (p.Condition == nil || p.Kind == ""):
		return engine.Errorf("condition", "for: condition needs kind and condition")
	case p.For == "rollout" && (p.Kind == "" || p.Name == "" && p.Selector == ""):
		return engine.Errorf("kind", "for: rollout needs kind (DaemonSet, Deployment or StatefulSet) and name or selector")
	case p.For == "established" && p.Name == "" && p.Selector == "":
		return engine.Errorf("name", "for: established needs the CRD's name")
	case p.Name != "" && p.Selector != "":
		return engine.Errorf("selector", "give name or selector, not both")
	}
	return nil
}

func runWait(ctx context.Context, rt *engine.Runtime, p *waitParams) (map[string]any, error) {
	c, err := kube.Connect(rt, p.Target)
	if err != nil {
		return nil, err
	}
	kind := map[string]string{"nodesReady": "Node", "podsReady": "Pod", "established": "CustomResourceDefinition"}[p.For]
	if kind == "" {
		kind = p.Kind
	}
	m, err := c.MappingFor(kind, p.APIVersion)
	if err != nil {
		return nil, err
	}
	ns := ""
	var r dynamic.ResourceInterface = c.Dynamic.Resource(m.Resource)
	if kube.Namespaced(m) {
		ns = c.Namespace(p.Namespace)
		r = c.Dynamic.Resource(m.Resource).Namespace(ns)
	}
	w := &waiter{p: p, rt: rt, kind: m.GroupVersionKind.Kind, ns: ns}
	waitCtx, cancel := waitContext(ctx, p)
	defer cancel()
	started := time.Now()
	var store cache.Store
	check := func() (bool, error) {
		done, err := w.check(store.List())
		return done, err
	}
	_, err = watchtools.UntilWithSync(waitCtx, listWatch(r, p), &unstructured.Unstructured{},
		func(s cache.Store) (bool, error) { store = s; return check() },
		func(watch.Event) (bool, error) { return check() })
	if err == nil {
		return map[string]any{"objects": w.matched, "seconds": time.Since(started).Seconds()}, nil
	}
	if w.exprErr != nil {
		return nil, w.exprErr
	}
	if w.failed != nil {
		return nil, fmt.Errorf("%w%s", w.failed, w.podProblems(c))
	}
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, watchtools.ErrWatchClosed) && waitCtx.Err() == nil {
		return nil, err
	}
	msg := "still waiting for " + strings.Join(w.pending, "; ") + w.podProblems(c) + w.recentEvents(c)
	if ctx.Err() != nil {
		return nil, errors.New(msg) // the step's or the playbook's timeout: the runner says which
	}
	return nil, fmt.Errorf("timed out after %s: %s", time.Since(started).Round(time.Second), msg)
}

func waitContext(ctx context.Context, p *waitParams) (context.Context, context.CancelFunc) {
	if p.Timeout.Duration > 0 {
		return context.WithTimeout(ctx, p.Timeout.Duration)
	}
	if _, has := ctx.Deadline(); has {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, defaultWait)
}

func listWatch(r dynamic.ResourceInterface, p *waitParams) *cache.ListWatch {
	narrow := func(o *metav1.ListOptions) {
		o.LabelSelector = p.Selector
		if p.Name != "" {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", p.Name).String()
		}
	}
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			narrow(&o)
			return r.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			narrow(&o)
			return r.Watch(ctx, o)
		},
	}
}

// waiter decides whether the objects meet the condition, and what is still pending.
type waiter struct {
	p        *waitParams
	rt       *engine.Runtime
	kind, ns string
	pending  []string
	reported string
	matched  []any
	exprErr  error
	failed   error // a rollout that cannot finish any more
}

func (w *waiter) check(items []any) (bool, error) {
	var objs []*unstructured.Unstructured
	for _, it := range items {
		objs = append(objs, it.(*unstructured.Unstructured))
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].GetName() < objs[j].GetName() })
	w.pending = nil
	for _, o := range objs {
		if why := w.notReady(o); why != "" {
			w.pending = append(w.pending, fmt.Sprintf("%s %s: %s", o.GetKind(), objectName(o), why))
		}
	}
	if w.exprErr != nil {
		return false, w.exprErr
	}
	if w.failed != nil {
		return false, w.failed
	}
	if want := max(w.p.Count, 1); len(objs) < want {
		w.pending = append(w.pending, w.missing(len(objs), want))
	}
	if summary := strings.Join(w.pending, "; "); summary != w.reported && summary != "" {
		w.reported = summary
		w.rt.Logf("waiting for %s", summary)
	}
	if len(w.pending) > 0 {
		return false, nil
	}
	w.matched = make([]any, len(objs))
	for i, o := range objs {
		w.matched[i] = o.Object
	}
	return true, nil
}

func (w *waiter) missing(have, want int) string {
	what := w.kind
	if w.p.Name != "" {
		what += " " + w.p.Name
	}
	if w.p.Selector != "" {
		what += " matching " + w.p.Selector
	}
	if w.ns != "" {
		what += " in namespace " + w.ns
	}
	if w.p.Name != "" {
		return what + ": not found"
	}
	return fmt.Sprintf("%s: %d found, want at least %d", what, have, want)
}

func objectName(o *unstructured.Unstructured) string {
	if o.GetNamespace() != "" {
		return o.GetNamespace() + "/" + o.GetName()
	}
	return o.GetName()
}

// notReady says why one object does not meet the condition yet, or "" when it does.
func (w *waiter) notReady(o *unstructured.Unstructured) string {
	switch w.p.For {
	case "nodesReady", "podsReady":
		return conditionNotTrue(o.Object, "Ready")
	case "established":
		return conditionNotTrue(o.Object, "Established")
	case "rollout":
		return w.rolloutPending(o)
	}
	v, err := w.rt.EvalObject(w.p.Condition, o.Object)
	if err != nil {
		w.exprErr = fmt.Errorf("condition: %w", err)
		return "condition failed"
	}
	if v != true {
		return "condition " + w.p.Condition.Source + " is false"
	}
	return ""
}

func conditionNotTrue(obj map[string]any, condType string) string {
	c := kube.Condition(obj, condType)
	if c == nil {
		phase, _, _ := unstructured.NestedString(obj, "status", "phase")
		if phase != "" {
			return fmt.Sprintf("no %s condition yet (phase %s)", condType, phase)
		}
		return "no " + condType + " condition yet"
	}
	if c["status"] == "True" {
		return ""
	}
	why := fmt.Sprintf("%s=%v", condType, c["status"])
	if c["reason"] != nil && c["reason"] != "" {
		why += fmt.Sprintf(" (%v", c["reason"])
		if c["message"] != nil && c["message"] != "" {
			why += fmt.Sprintf(": %v", c["message"])
		}
		why += ")"
	}
	return why
}

// rolloutPending says what a rollout still waits for, as kstatus (Helm's, kubectl's and
// Flux's rules) computes it: the latest spec seen, every replica updated, available and
// ready, old replicas gone; a Deployment past its progress deadline has failed, and a
// DaemonSet that wants no pods is done.
func (w *waiter) rolloutPending(o *unstructured.Unstructured) string {
	switch o.GetKind() {
	case "DaemonSet", "Deployment", "StatefulSet":
	default:
		return "rollout only knows DaemonSet, Deployment and StatefulSet, not " + o.GetKind()
	}
	res, err := status.Compute(o)
	if err != nil {
		return err.Error()
	}
	switch res.Status {
	case status.CurrentStatus:
		return ""
	case status.FailedStatus:
		w.failed = fmt.Errorf("%s %s: %s%s", o.GetKind(), objectName(o), res.Message, stalledReason(res))
	}
	return res.Message
}

func stalledReason(res *status.Result) string {
	for _, c := range res.Conditions {
		if c.Type == status.ConditionStalled && c.Message != "" {
			return " (" + c.Message + ")"
		}
	}
	return ""
}

// recentEvents adds the last events of the pending objects to a timeout message: they
// usually say why (FailedScheduling, ImagePullBackOff, ...).
func (w *waiter) recentEvents(c *kube.Client) string {
	if w.p.Name == "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, err := c.Clientset.CoreV1().Events(w.ns).List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("involvedObject.name", w.p.Name).String()})
	if err != nil || len(list.Items) == 0 {
		return ""
	}
	events := list.Items
	sort.Slice(events, func(i, j int) bool { return events[i].LastTimestamp.Before(&events[j].LastTimestamp) })
	if len(events) > 3 {
		events = events[len(events)-3:]
	}
	var lines []string
	for _, e := range events {
		lines = append(lines, fmt.Sprintf("%s %s: %s", e.Type, e.Reason, e.Message))
	}
	return "; recent events: " + strings.Join(lines, " | ")
}

// podProblems says why a workload's pods are not ready, from their containers' own states
// (ErrImageNeverPull, CrashLoopBackOff, ...): what the workload's status cannot tell.
func (w *waiter) podProblems(c *kube.Client) string {
	if w.p.For != "rollout" || w.p.Name == "" || w.ns == "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := c.MappingFor(w.kind, w.p.APIVersion)
	if err != nil {
		return ""
	}
	obj, err := c.Dynamic.Resource(m.Resource).Namespace(w.ns).Get(ctx, w.p.Name, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	sel, found, _ := unstructured.NestedMap(obj.Object, "spec", "selector")
	if !found {
		return ""
	}
	var ls metav1.LabelSelector
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(sel, &ls); err != nil {
		return ""
	}
	selector, err := metav1.LabelSelectorAsSelector(&ls)
	if err != nil {
		return ""
	}
	pods, err := c.Clientset.CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return ""
	}
	var problems []string
	for _, pod := range pods.Items {
		if why := podWaiting(pod); why != "" {
			problems = append(problems, fmt.Sprintf("pod %s on %s: %s", pod.Name, orNone(pod.Spec.NodeName), why))
		}
		if len(problems) == 3 {
			break
		}
	}
	if len(problems) == 0 {
		return ""
	}
	return "; pods: " + strings.Join(problems, " | ")
}

// podWaiting is the first reason a container of the pod gives for not running.
func podWaiting(pod corev1.Pod) string {
	for _, group := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for _, cs := range group {
			if w := cs.State.Waiting; w != nil && w.Reason != "" && w.Reason != "PodInitializing" {
				why := fmt.Sprintf("container %s: %s", cs.Name, w.Reason)
				if w.Message != "" {
					why += " (" + w.Message + ")"
				}
				return why
			}
		}
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return fmt.Sprintf("not scheduled: %s %s", c.Reason, c.Message)
		}
	}
	return ""
}

func orNone(node string) string {
	if node == "" {
		return "no node"
	}
	return node
}
