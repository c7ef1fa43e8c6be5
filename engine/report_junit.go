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
	Skipped  int         `xml:"skipped,attr"`
	Time     float64     `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      float64       `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *struct{}     `xml:"skipped,omitempty"`
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
			c.Skipped = &struct{}{}
			r.suite.Skipped++
		}
		r.suite.Cases = append(r.suite.Cases, c)
		r.suite.Tests++
	case RunFinished:
		r.suite.Time = e.Seconds
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
