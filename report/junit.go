package report

import (
	"github.com/kindlab/playbook/engine"
	"maps"
	"slices"

	"encoding/xml"
	"os"
	"strings"
)

// JUnitReporter writes one testcase per step to a JUnit XML file when the run ends, so CI
// systems show each step as a test. A looped step is one testcase per item, named by the
// item (its rendered name), with the step as the classname that groups them. A failure that
// ignoreErrors let pass is a skipped testcase whose message starts "ignored failure:": the
// run passed, and a dashboard that turns red on <failure> would say otherwise. The cells of
// a job are one <testsuite> each, in a <testsuites>, with the cell's vars as properties.
type JUnitReporter struct {
	path   string
	cells  []string
	suites map[string]*junitCell
}

// junitCell is the suite of one cell (of the run, when it is not a job).
type junitCell struct {
	suite junitSuite
	// items are the testcases of looped steps, by step, until the step finishes.
	items map[string][]junitCase
}

type junitSuites struct {
	XMLName xml.Name      `xml:"testsuites"`
	Suites  []*junitSuite `xml:"testsuite"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitSuite struct {
	XMLName    xml.Name         `xml:"testsuite"`
	Name       string           `xml:"name,attr"`
	Tests      int              `xml:"tests,attr"`
	Failures   int              `xml:"failures,attr"`
	Errors     int              `xml:"errors,attr"`
	Skipped    int              `xml:"skipped,attr"`
	Time       float64          `xml:"time,attr"`
	Properties *[]junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase      `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      float64       `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Error     *junitFailure `xml:"error,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
}

type junitSkipped struct {
	Message string `xml:"message,attr,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

func NewJUnitReporter(path string) *JUnitReporter {
	return &JUnitReporter{path: path, suites: map[string]*junitCell{}}
}

func (r *JUnitReporter) Handle(e engine.Event) {
	key := e.Cell
	c, ok := r.suites[key]
	if !ok {
		c = &junitCell{}
		r.suites[key] = c
		r.cells = append(r.cells, key)
	}
	c.handle(e)
}

func (r *junitCell) handle(e engine.Event) {
	switch e.Type {
	case engine.RunStarted:
		r.suite.Name = e.Playbook
		if e.Cell != "" {
			r.suite.Name = e.Cell
			props := []junitProperty{{Name: "playbook", Value: e.Playbook}}
			for _, k := range slices.Sorted(maps.Keys(e.CellVars)) {
				props = append(props, junitProperty{Name: "var." + k, Value: e.CellVars[k]})
			}
			r.suite.Properties = &props
		}
	case engine.ItemFinished:
		if r.items == nil {
			r.items = map[string][]junitCase{}
		}
		r.items[e.Step] = append(r.items[e.Step], r.testcase(e, e.Item, e.Playbook+"."+e.Step, nil))
	case engine.StepFinished:
		items, looped := r.items[e.Step]
		delete(r.items, e.Step)
		if looped {
			// The step's output tail holds every item's last lines, each marked [item].
			for _, c := range items {
				if c.Failure != nil {
					c.Failure.Body = strings.Join(itemLines(e.Output, c.Name), "\n")
				}
				r.add(c)
			}
			return
		}
		r.add(r.testcase(e, e.Step, e.Playbook, e.Output))
	case engine.RunFinished:
		r.suite.Time = e.Seconds
		if r.suite.Name == "" {
			r.suite.Name = CellOf(e)
		}
		// A run that could not start is one error, not an empty (green) suite.
		if len(r.suite.Cases) == 0 && e.Status == engine.StatusFailed {
			var body []string
			for _, d := range e.Diagnostics {
				body = append(body, d.Error())
			}
			r.suite.Cases = append(r.suite.Cases, junitCase{Name: "the playbook could not start", ClassName: e.Playbook,
				Error: &junitFailure{Message: e.Error, Body: strings.Join(body, "\n")}})
			r.suite.Tests++
			r.suite.Errors++
		}
	}
}

func itemLines(output []string, item string) []string {
	var lines []string
	for _, line := range output {
		if rest, ok := strings.CutPrefix(line, "["+item+"] "); ok {
			lines = append(lines, rest)
		}
	}
	return lines
}

func (r *junitCell) testcase(e engine.Event, name, class string, output []string) junitCase {
	c := junitCase{Name: name, ClassName: class, Time: e.Seconds}
	switch {
	case e.Ignored && (e.Status == engine.StatusFailed || e.Status == engine.StatusCancelled):
		c.Skipped = &junitSkipped{Message: "ignored failure: " + e.Error}
	case e.Status == engine.StatusFailed || e.Status == engine.StatusCancelled:
		c.Failure = &junitFailure{Message: e.Error, Body: strings.Join(output, "\n")}
	case e.Status == engine.StatusSkipped:
		c.Skipped = &junitSkipped{Message: e.Reason}
	case e.Status == engine.StatusNotRun:
		c.Skipped = &junitSkipped{Message: "not run: " + e.Reason}
	}
	return c
}

func (r *junitCell) add(c junitCase) {
	switch {
	case c.Failure != nil:
		r.suite.Failures++
	case c.Skipped != nil:
		r.suite.Skipped++
	}
	r.suite.Cases = append(r.suite.Cases, c)
	r.suite.Tests++
}

// Close writes the file: the run's <testsuite>, or a job's <testsuites>.
func (r *JUnitReporter) Close() error {
	var doc any = &junitSuite{}
	switch {
	case len(r.cells) == 1 && r.cells[0] == "":
		doc = &r.suites[""].suite
	case len(r.cells) > 0:
		all := &junitSuites{}
		for _, cell := range r.cells {
			all.Suites = append(all.Suites, &r.suites[cell].suite)
		}
		doc = all
	}
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(r.path, append([]byte(xml.Header), append(out, '\n')...), 0o644)
}
