package engine

import (
	"encoding/xml"
	"os"
	"strings"
)

// JUnitReporter writes one testcase per step to a JUnit XML file when the run ends, so CI
// systems show each step as a test.
type JUnitReporter struct {
	path  string
	suite junitSuite
}

type junitSuite struct {
	XMLName  xml.Name    `xml:"testsuite"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     float64     `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
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

func NewJUnitReporter(path string) *JUnitReporter { return &JUnitReporter{path: path} }

func (r *JUnitReporter) Handle(e Event) {
	switch e.Type {
	case RunStarted:
		r.suite.Name = e.Playbook
	case StepFinished:
		c := junitCase{Name: e.Step, ClassName: e.Playbook, Time: e.Seconds}
		switch e.Status {
		case StatusFailed, StatusCancelled:
			c.Failure = &junitFailure{Message: e.Error, Body: strings.Join(e.Output, "\n")}
			r.suite.Failures++
		case StatusSkipped:
			c.Skipped = &junitSkipped{Message: e.Reason}
			r.suite.Skipped++
		case StatusNotRun:
			c.Skipped = &junitSkipped{Message: "not run: " + e.Reason}
			r.suite.Skipped++
		}
		r.suite.Cases = append(r.suite.Cases, c)
		r.suite.Tests++
	case RunFinished:
		r.suite.Time = e.Seconds
		if r.suite.Name == "" {
			r.suite.Name = e.Playbook
		}
		// A run that could not start is one error, not an empty (green) suite.
		if len(r.suite.Cases) == 0 && e.Status == StatusFailed {
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

// Close writes the file.
func (r *JUnitReporter) Close() error {
	out, err := xml.MarshalIndent(r.suite, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(r.path, append([]byte(xml.Header), append(out, '\n')...), 0o644)
}
