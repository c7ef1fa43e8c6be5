package engine

import (
	"fmt"
	"strings"
)

// shellContext is where a ${{ }} value lands in a shell script, which decides how it must be
// escaped to stay one piece of data (as html/template escapes by HTML context).
type shellContext int

const (
	shellNone      shellContext = iota // not a shell parameter: no escaping
	shellWord                          // unquoted: becomes one single-quoted word
	shellDouble                        // inside "...": " $ \ and ` are escaped
	shellHeredoc                       // inside an unquoted here-document: $ \ and ` are escaped
	shellSingle                        // inside '...': nothing can be escaped there
	shellQuotedDoc                     // inside a here-document with a quoted delimiter: nor there
)

// shellQuoteFor escapes s for where it stands.
func shellQuoteFor(ctx shellContext, s string) string {
	switch ctx {
	case shellWord:
		return ShellQuote(s)
	case shellDouble:
		return escapeShell(s, `"$\`+"`")
	case shellHeredoc:
		return escapeShell(s, `$\`+"`")
	}
	return s
}

func escapeShell(s, special string) string {
	if !strings.ContainsAny(s, special) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(special, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ShellQuote quotes s for POSIX sh so that it is always exactly one word, whatever it holds.
func ShellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellLexer follows a script's quoting through its literal text, so that each ${{ }} in it
// knows its context. It tracks what changes how a value must be escaped: quotes, backslashes,
// $( ) and backticks (which start an unquoted context again, even inside "..."), comments,
// and here-documents.
type shellLexer struct {
	stack   []shellContext // innermost last; $( ) and ` push a new unquoted level
	parens  []int          // open ( inside each $( ) level, to find its )
	escaped bool
	comment bool
	// pending here-documents of the current line, and the one whose body we are in
	heredocs []heredoc
	body     *heredoc
	line     strings.Builder // the current line, to find a here-document's end
}

type heredoc struct {
	delim  string
	quoted bool
	strip  bool // <<- strips leading tabs from the body and the end line
}

func newShellLexer() *shellLexer {
	return &shellLexer{stack: []shellContext{shellWord}, parens: []int{0}}
}

// context is where text written now would land.
func (l *shellLexer) context() shellContext {
	if l.body != nil {
		if l.body.quoted {
			return shellQuotedDoc
		}
		return shellHeredoc
	}
	return l.stack[len(l.stack)-1]
}

// value records that an interpolated value stands here: it is one word's worth of text, never
// a quote or a delimiter.
func (l *shellLexer) value() { l.line.WriteString("x") }

func (l *shellLexer) feed(s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if l.body != nil {
			l.feedBody(c)
			continue
		}
		if c == '\n' {
			l.newline()
			continue
		}
		l.line.WriteByte(c)
		if l.escaped {
			l.escaped = false
			continue
		}
		if l.comment {
			continue
		}
		top := len(l.stack) - 1
		switch l.stack[top] {
		case shellSingle:
			if c == '\'' {
				l.stack = l.stack[:top]
			}
		case shellDouble:
			switch {
			case c == '\\':
				l.escaped = true
			case c == '"':
				l.stack = l.stack[:top]
			case c == '`':
				l.push()
			case c == '$' && i+1 < len(s) && s[i+1] == '(':
				l.line.WriteByte('(')
				i++
				l.push()
			}
		default: // unquoted
			switch {
			case c == '\\':
				l.escaped = true
			case c == '\'':
				l.stack = append(l.stack, shellSingle)
			case c == '"':
				l.stack = append(l.stack, shellDouble)
			case c == '#' && l.wordStart():
				l.comment = true
			case c == '`' && top > 0 && l.parens[len(l.parens)-1] < 0:
				l.pop() // the end of a backtick substitution
			case c == '`':
				l.push()
				l.parens[len(l.parens)-1] = -1
			case c == '$' && i+1 < len(s) && s[i+1] == '(':
				l.line.WriteByte('(')
				i++
				l.push()
			case c == '(' && l.parens[len(l.parens)-1] >= 0:
				l.parens[len(l.parens)-1]++
			case c == ')' && top > 0 && l.parens[len(l.parens)-1] == 0:
				l.pop()
			case c == ')' && l.parens[len(l.parens)-1] > 0:
				l.parens[len(l.parens)-1]--
			case c == '<' && i+1 < len(s) && s[i+1] == '<' && (i+2 >= len(s) || s[i+2] != '<'):
				i += l.heredocStart(s[i+2:]) + 1
			}
		}
	}
}

func (l *shellLexer) push() {
	l.stack = append(l.stack, shellWord)
	l.parens = append(l.parens, 0)
}

func (l *shellLexer) pop() {
	l.stack = l.stack[:len(l.stack)-1]
	l.parens = l.parens[:len(l.parens)-1]
}

func (l *shellLexer) wordStart() bool {
	line := l.line.String()
	if len(line) < 2 {
		return true
	}
	prev := line[len(line)-2]
	return prev == ' ' || prev == '\t' || prev == ';' || prev == '&' || prev == '|' || prev == '('
}

// heredocStart reads the delimiter after << (or <<-) and returns how many bytes it took.
func (l *shellLexer) heredocStart(s string) int {
	n := 0
	h := heredoc{}
	if strings.HasPrefix(s, "-") {
		h.strip = true
		n++
	}
	for n < len(s) && (s[n] == ' ' || s[n] == '\t') {
		n++
	}
	start := n
	for n < len(s) && !strings.ContainsRune(" \t\n;&|<>()", rune(s[n])) {
		n++
	}
	word := s[start:n]
	if word == "" {
		return n
	}
	if strings.ContainsAny(word, `'"\`) {
		h.quoted = true
		word = strings.NewReplacer("'", "", `"`, "", `\`, "").Replace(word)
	}
	h.delim = word
	l.heredocs = append(l.heredocs, h)
	l.line.WriteString(s[:n])
	return n
}

func (l *shellLexer) newline() {
	l.comment = false
	l.escaped = false
	l.line.Reset()
	if len(l.heredocs) > 0 {
		h := l.heredocs[0]
		l.heredocs = l.heredocs[1:]
		l.body = &h
	}
}

func (l *shellLexer) feedBody(c byte) {
	if c != '\n' {
		l.line.WriteByte(c)
		return
	}
	line := l.line.String()
	if l.body.strip {
		line = strings.TrimLeft(line, "\t")
	}
	end := line == l.body.delim
	l.line.Reset()
	if end {
		l.body = nil
		if len(l.heredocs) > 0 {
			h := l.heredocs[0]
			l.heredocs = l.heredocs[1:]
			l.body = &h
		}
	}
}

// shellContextError says what to write instead when a value stands where no escaping can
// keep it data.
func shellContextError(ctx shellContext, source string) string {
	switch ctx {
	case shellSingle:
		return fmt.Sprintf("${{ %s }} inside single quotes cannot be escaped: close the quotes around it ('...'${{ %s }}'...'), or use double quotes", strings.TrimSpace(source), strings.TrimSpace(source))
	case shellQuotedDoc:
		return fmt.Sprintf("${{ %s }} inside a here-document with a quoted delimiter cannot be escaped: write the delimiter unquoted (<<EOF), which escapes it", strings.TrimSpace(source))
	}
	return ""
}
