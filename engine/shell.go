package engine

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Script is a shell parameter as a step receives it: the text for sh -c, in which every
// ${{ }} became a reference to an environment variable, and those variables. The shell
// expands a value; it never parses one, so no value can end a quote, a here-document or a
// command.
type Script struct {
	Text string
	Env  []string // NAME=value, for the environment of the shell that runs Text
}

// String is the script's text, with references where values go.
func (s Script) String() string { return s.Text }

// shellContext is where a ${{ }} stands in a shell script, as a shell parser reads it, which
// decides how its reference is written.
type shellContext int

const (
	shellNone       shellContext = iota // not a shell parameter
	shellWord                           // unquoted: "${NAME}", so the value is one word, not a pattern
	shellQuoted                         // in "...", an unquoted here-document: ${NAME}
	shellArithmetic                     // in $(( )), an index, let, [[ -eq ]]: the value must be an integer
)

const scriptValuePrefix = "PLAYBOOK_VALUE_"

// scriptValueEnv names the environment variable of the n-th ${{ }} of a script (and of item i
// of a list value).
func scriptValueEnv(n int, item ...int) string {
	name := scriptValuePrefix + strconv.Itoa(n)
	for _, i := range item {
		name += "_" + strconv.Itoa(i)
	}
	return name
}

// shellContexts reads a script through a real shell parser (the one behind shfmt) with each
// ${{ }} standing as a reference, and says for each where it stands. placeholders are where
// each reference stands in text, offsets where its ${{ }} stands in the template, for errors.
func shellContexts(text string, placeholders, offsets []int) ([]shellContext, *exprError) {
	file, err := syntax.NewParser(syntax.Variant(syntax.LangBash), syntax.KeepComments(true)).Parse(strings.NewReader(text), "")
	if err != nil {
		// The parser's position is in the substituted text: the error stands in the template.
		offset, text := 0, err.Error()
		var perr syntax.ParseError
		if errors.As(err, &perr) {
			offset, text = templateOffset(int(perr.Pos.Offset()), placeholders, offsets), perr.Text
		}
		return nil, &exprError{offset: offset, msg: "the script does not parse as a shell script, so where its ${{ }} values stand cannot be told: " + text}
	}
	contexts := make([]shellContext, len(offsets))
	found := make([]bool, len(offsets))
	var stack []syntax.Node
	var walkErr *exprError
	syntax.Walk(file, func(node syntax.Node) bool {
		if node == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		stack = append(stack, node)
		if walkErr != nil {
			return false
		}
		n, ok := placeholderAt(node)
		if !ok || n >= len(offsets) {
			return true
		}
		found[n] = true
		ctx, msg := contextOf(stack, node.Pos().Offset())
		if msg != "" {
			walkErr = &exprError{offset: offsets[n], msg: msg}
			return false
		}
		contexts[n] = ctx
		return true
	})
	if walkErr != nil {
		return nil, walkErr
	}
	for n, ok := range found {
		if !ok {
			if msg := unexpandedContext(file, placeholders[n]); msg != "" {
				return nil, &exprError{offset: offsets[n], msg: msg}
			}
			contexts[n] = shellNone // in a comment
		}
	}
	return contexts, nil
}

// placeholderAt reports which ${{ }} node is, when it is one's reference.
func placeholderAt(node syntax.Node) (int, bool) {
	pe, ok := node.(*syntax.ParamExp)
	if !ok || pe.Param == nil || pe.Short || pe.Excl || pe.Length || pe.Index != nil || pe.Slice != nil || pe.Repl != nil || pe.Exp != nil {
		return 0, false
	}
	digits, ok := strings.CutPrefix(pe.Param.Value, scriptValuePrefix)
	n, err := strconv.Atoi(digits)
	return n, ok && err == nil && n >= 0
}

// contextOf walks out from a placeholder to the innermost construct that decides how the
// shell treats its value.
func contextOf(stack []syntax.Node, at uint) (shellContext, string) {
	for i := len(stack) - 2; i >= 0; i-- {
		switch n := stack[i].(type) {
		case *syntax.CmdSubst, *syntax.ProcSubst:
			return shellWord, "" // a new command: quoting starts again
		case *syntax.DblQuoted:
			return shellQuoted, ""
		case *syntax.ArithmExp, *syntax.ArithmCmd, *syntax.LetClause, *syntax.CStyleLoop:
			return shellArithmetic, ""
		case *syntax.ParamExp:
			if n.Index != nil && within(n.Index, at) || n.Slice != nil && (within(n.Slice.Offset, at) || within(n.Slice.Length, at)) {
				return shellArithmetic, ""
			}
		case *syntax.BinaryTest:
			if n.Op >= syntax.TsEql && n.Op <= syntax.TsGtr {
				return shellArithmetic, "" // bash evaluates both sides of -eq as arithmetic
			}
		case *syntax.Redirect:
			if n.Hdoc != nil && within(n.Hdoc, at) {
				return shellQuoted, ""
			}
		}
	}
	return shellWord, ""
}

// templateOffset maps an offset in the substituted text back to the template.
func templateOffset(at int, placeholders, offsets []int) int {
	shift := 0
	for i, p := range placeholders {
		if p > at {
			break
		}
		shift = offsets[i] - p
	}
	return max(at+shift, 0)
}

func within(n syntax.Node, at uint) bool {
	return n != nil && n.Pos().Offset() <= at && at < n.End().Offset()
}

// unexpandedContext says why a ${{ }} that the parser did not find as an expansion cannot
// carry a value: it stands where the shell takes text literally.
func unexpandedContext(file *syntax.File, at int) string {
	msg := "${{ }} stands where the shell does not expand anything (after a backslash?): write it where a $VARIABLE would be expanded"
	syntax.Walk(file, func(node syntax.Node) bool {
		if node == nil || !within(node, uint(at)) {
			return false
		}
		switch n := node.(type) {
		case *syntax.SglQuoted:
			msg = "${{ }} inside single quotes cannot carry a value: the shell takes '...' literally; close the quotes around it ('...'${{ x }}'...') or use double quotes"
			return false
		case *syntax.Redirect:
			if n.Hdoc != nil && within(n.Hdoc, uint(at)) {
				msg = "${{ }} inside a here-document with a quoted delimiter cannot carry a value: the shell takes its body literally; write the delimiter unquoted (<<EOF)"
				return false
			}
		case *syntax.Comment:
			msg = ""
			return false
		}
		return true
	})
	return msg
}

// scriptWriter builds a Script from a template's parts: literals as written, each value as a
// reference to a variable of its own.
type scriptWriter struct {
	text strings.Builder
	env  []string
	mask *Masker
}

func (w *scriptWriter) literal(s string) { w.text.WriteString(s) }

func (w *scriptWriter) value(n int, ctx shellContext, v any) error {
	if ctx == shellNone { // a comment: nothing expands it
		w.text.WriteString("${" + scriptValueEnv(n) + "}")
		return nil
	}
	var names []string
	if isList(v) {
		for i, item := range listItems(v) {
			if err := w.set(scriptValueEnv(n, i), ctx, item); err != nil {
				return err
			}
			names = append(names, scriptValueEnv(n, i))
		}
	} else {
		if err := w.set(scriptValueEnv(n), ctx, v); err != nil {
			return err
		}
		names = append(names, scriptValueEnv(n))
	}
	for i, name := range names {
		if i > 0 {
			w.text.WriteByte(' ')
		}
		if ctx == shellWord {
			w.text.WriteString(`"${` + name + `}"`)
		} else {
			w.text.WriteString("${" + name + "}")
		}
	}
	return nil
}

var shellInteger = regexp.MustCompile(`^[-+]?[0-9]+$`)

func (w *scriptWriter) set(name string, ctx shellContext, v any) error {
	s := Stringify(v)
	if ctx == shellArithmetic && !shellInteger.MatchString(s) {
		// The shell would evaluate the text as an expression (in bash, with array subscripts
		// that run commands): only a number is data there.
		return fmt.Errorf("a value in shell arithmetic must be an integer, got %s", describeValue(w.mask, v))
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("a value for a shell script cannot hold a NUL byte (no environment variable can)")
	}
	w.env = append(w.env, name+"="+s)
	return nil
}

func (w *scriptWriter) script() Script { return Script{Text: w.text.String(), Env: w.env} }

// ShellQuote quotes s for POSIX sh so that it is always exactly one word, whatever it holds:
// for text a playbook builds for another tool's shell, which the environment cannot reach.
func ShellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
