package report

import (
	"bytes"
	"io"
)

// LinePrefixer starts every line written through it with Prefix, and writes whole lines only:
// the cells of a job share one terminal, and their lines must never interleave inside a line.
// What follows the last newline waits for the next write.
type LinePrefixer struct {
	Out     io.Writer
	Prefix  string
	pending []byte
}

func (p *LinePrefixer) Write(b []byte) (int, error) {
	p.pending = append(p.pending, b...)
	var lines []byte
	for {
		i := bytes.IndexByte(p.pending, '\n')
		if i < 0 {
			break
		}
		lines = append(append(lines, p.Prefix...), p.pending[:i+1]...)
		p.pending = p.pending[i+1:]
	}
	if len(lines) > 0 {
		if _, err := p.Out.Write(lines); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}
