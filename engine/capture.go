package engine

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
)

// Bounds on what one output stream of a step costs, however much it prints.
const (
	// OutputHeadBytes and OutputTailBytes are what a step's outputs keep of a stream: its
	// start and its end, with a note of how much was dropped between them.
	OutputHeadBytes = 4 << 20
	OutputTailBytes = 4 << 20
	// MaxLineBytes is where a line shown live is cut.
	MaxLineBytes = 8 << 10
)

// Capture is one output stream of something a step runs (a command's stdout or stderr): what
// is written shows live line by line, masked, and is kept, bounded, for the step's outputs.
// One writer at a time; String after the writer is done.
type Capture struct {
	mu    sync.Mutex
	kept  boundedBuffer
	lines lineSplitter
}

// Capture returns a stream for the step's output: exec, dockerExec and kubectlExec give the
// commands they run one each for stdout and stderr. Close it when the command is done.
func (rt *Runtime) Capture(stream string) *Capture {
	return &Capture{
		kept:  boundedBuffer{headMax: OutputHeadBytes, tailMax: OutputTailBytes},
		lines: lineSplitter{emit: func(line string) { rt.line(stream, line) }, mask: rt.masker(), max: MaxLineBytes},
	}
}

func (c *Capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.kept.write(p)
	c.lines.write(p)
	return len(p), nil
}

// Close shows the last line, when it had no newline.
func (c *Capture) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines.close()
	return nil
}

// String is what was kept, without the trailing newline: for a step's outputs.
func (c *Capture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.TrimRight(c.kept.String(c.lines.mask), "\n")
}

// boundedBuffer keeps the first headMax and the last tailMax bytes written.
type boundedBuffer struct {
	headMax, tailMax int
	head             []byte
	tail             []byte // a ring, allocated once the head is full
	pos              int    // where the ring writes next
	wrapped          bool
	total            int64
}

func (b *boundedBuffer) write(p []byte) {
	b.total += int64(len(p))
	if room := b.headMax - len(b.head); room > 0 {
		n := min(room, len(p))
		if len(b.head)+n > 64<<10 && cap(b.head) < b.headMax {
			// Past the first pipe buffer it is likely to fill: grow once, not by doubling.
			b.head = append(make([]byte, 0, b.headMax), b.head...)
		}
		b.head = append(b.head, p[:n]...)
		p = p[n:]
	}
	if len(p) == 0 {
		return
	}
	if b.tail == nil {
		b.tail = make([]byte, b.tailMax)
	}
	if len(p) >= b.tailMax {
		copy(b.tail, p[len(p)-b.tailMax:])
		b.pos, b.wrapped = 0, true
		return
	}
	n := copy(b.tail[b.pos:], p)
	if n < len(p) {
		copy(b.tail, p[n:])
		b.wrapped = true
	}
	b.pos = (b.pos + len(p)) % b.tailMax
	if b.pos == 0 {
		b.wrapped = true
	}
}

// String is what was kept. Where the middle was dropped, the head's end and the tail's start
// are cut back past anything that could be part of a secret: the masker, which sees the kept
// text later, would not know a secret's half.
func (b *boundedBuffer) String(m *Masker) string {
	var tail []byte
	if b.wrapped {
		tail = append(append([]byte{}, b.tail[b.pos:]...), b.tail[:b.pos]...)
	} else if b.tail != nil {
		tail = b.tail[:b.pos]
	}
	dropped := b.total - int64(len(b.head)) - int64(len(tail))
	var s strings.Builder
	if dropped <= 0 {
		s.Grow(len(b.head) + len(tail))
		s.Write(b.head)
		s.Write(tail)
		return s.String()
	}
	head := b.head[:len(b.head)-m.holdBack(b.head)]
	tail = tail[m.holdFront(tail):]
	dropped = b.total - int64(len(head)) - int64(len(tail))
	note := fmt.Sprintf("\n[... %d bytes of output dropped: the first %d and the last %d are kept ...]\n", dropped, len(head), len(tail))
	s.Grow(len(head) + len(note) + len(tail))
	s.Write(head)
	s.WriteString(note)
	s.Write(tail)
	return s.String()
}

// lineSplitter turns a stream into lines for the live view: masked as a whole stream (a
// secret that spans lines, like a key file, is found), cut at max bytes, and never searching
// the same bytes twice.
type lineSplitter struct {
	emit    func(string)
	mask    *Masker
	max     int
	pending []byte // not shown yet: a line's start, or lines that may start a secret
	scanned int    // bytes of pending already searched for a newline
	cutting bool   // the current line was shown cut; the rest of it is dropped
}

func (s *lineSplitter) write(p []byte) {
	for len(p) > 0 {
		if s.cutting {
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				return
			}
			s.cutting = false
			p = p[i+1:]
			continue
		}
		s.pending = append(s.pending, p...)
		p = nil
		s.lines()
	}
}

// lines shows every complete line that cannot be part of a secret still arriving.
func (s *lineSplitter) lines() {
	shown := 0
	for {
		i := bytes.IndexByte(s.pending[s.scanned:], '\n')
		if i < 0 {
			s.scanned = len(s.pending)
			break
		}
		end := s.scanned + i + 1
		s.scanned = end
		// A secret that spans lines may have started: wait for the rest of it.
		if s.mask.holdBack(s.pending[shown:end]) > 0 && len(s.pending)-shown <= s.max+s.longestSecret() {
			continue
		}
		s.show(s.pending[shown : end-1])
		shown = end
	}
	s.pending = append(s.pending[:0], s.pending[shown:]...)
	s.scanned -= shown
	if len(s.pending) > s.max+s.longestSecret() {
		// A line longer than anyone reads live: show its start, drop the rest.
		cut := s.mask.straddle(s.pending, s.max)
		if nl := bytes.IndexByte(s.pending[:cut], '\n'); nl >= 0 {
			s.show(s.pending[:nl])
			s.pending = append(s.pending[:0], s.pending[nl+1:]...)
			s.scanned = 0
			s.lines()
			return
		}
		s.emit(s.mask.String(string(bytes.TrimSuffix(s.pending[:cut], []byte("\r")))) + fmt.Sprintf(" … [line cut at %d bytes]", cut))
		rest := s.pending[cut:]
		s.pending, s.scanned = s.pending[:0], 0
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			s.write(rest[i+1:])
		} else {
			s.cutting = true
		}
	}
}

func (s *lineSplitter) longestSecret() int {
	return s.mask.longestForm()
}

// show masks text (one line or several held together) and shows each line.
func (s *lineSplitter) show(text []byte) {
	masked := s.mask.String(string(text))
	for _, line := range strings.Split(masked, "\n") {
		s.emit(strings.TrimSuffix(line, "\r"))
	}
}

func (s *lineSplitter) close() {
	if len(s.pending) > 0 && !s.cutting {
		s.show(bytes.TrimSuffix(s.pending, []byte("\n")))
	}
	s.pending, s.scanned, s.cutting = nil, 0, false
}
