package steps

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

// A shell step sets named outputs as a GitHub Actions step does with $GITHUB_OUTPUT: it
// appends `key=value` lines, or `key<<DELIMITER`, the value's lines and `DELIMITER`, to the
// file that $PLAYBOOK_OUTPUT names. The keys appear under outputs.values.
const outputFileEnv = "PLAYBOOK_OUTPUT"

var outputKeyPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

var valuesOutputDoc = "what the command wrote to the file $" + outputFileEnv + " names: key=value lines, or key<<EOF, lines, EOF"

// outputFileLimit bounds what a command may set through its output file, as GitHub does.
const outputFileLimit = 1 << 20

// readOutputFile reads an output file, local or from a container, within outputFileLimit.
func readOutputFile(r io.Reader) (map[string]any, error) {
	data, err := io.ReadAll(io.LimitReader(r, outputFileLimit+1))
	if err != nil {
		return nil, fmt.Errorf("reading $%s: %w", outputFileEnv, err)
	}
	if len(data) > outputFileLimit {
		return nil, fmt.Errorf("$%s holds more than %d bytes", outputFileEnv, outputFileLimit)
	}
	return parseOutputFile(string(data))
}

// parseOutputFile reads what a command wrote to its output file. A line that is neither form
// is an error, not something to skip: it is a value the user meant to set.
func parseOutputFile(data string) (map[string]any, error) {
	values := map[string]any{}
	lines := strings.Split(strings.TrimSuffix(data, "\n"), "\n")
	if data == "" {
		return values, nil
	}
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSuffix(lines[i], "\r")
		if line == "" {
			continue
		}
		eq, heredoc := strings.Index(line, "="), strings.Index(line, "<<")
		switch {
		case heredoc > 0 && (eq < 0 || heredoc < eq):
			key, delimiter := line[:heredoc], line[heredoc+2:]
			if !outputKeyPattern.MatchString(key) || delimiter == "" {
				return nil, fmt.Errorf("$%s line %d: %q: write key<<DELIMITER with a name of letters, digits, _ and -", outputFileEnv, i+1, line)
			}
			end := slices.IndexFunc(lines[i+1:], func(l string) bool { return strings.TrimSuffix(l, "\r") == delimiter })
			if end < 0 {
				return nil, fmt.Errorf("$%s line %d: the value of %s has no closing %s line", outputFileEnv, i+1, key, delimiter)
			}
			values[key] = strings.Join(lines[i+1:i+1+end], "\n")
			i += end + 1
		case eq > 0:
			key := line[:eq]
			if !outputKeyPattern.MatchString(key) {
				return nil, fmt.Errorf("$%s line %d: %q is not a name: use letters, digits, _ and -", outputFileEnv, i+1, key)
			}
			values[key] = line[eq+1:]
		default:
			return nil, fmt.Errorf("$%s line %d: %q: write key=value, or key<<DELIMITER, the value's lines and DELIMITER", outputFileEnv, i+1, line)
		}
	}
	return values, nil
}

// A line of a script that appends one literal key to the output file:
// echo "key=..." >> "$PLAYBOOK_OUTPUT", or printf 'key<<EOF\n' >> $PLAYBOOK_OUTPUT.
var (
	outputRedirect   = `>>\s*"?\$\{?` + outputFileEnv + `\}?"?`
	outputEchoLine   = regexp.MustCompile(`^\s*(?:echo|printf)\s+(?:-[a-zA-Z]+\s+)*["']?([A-Za-z_][A-Za-z0-9_-]*)(=|<<)([^"'\s\\]*)[^>]*` + outputRedirect + `\s*(?:;|&&)?\s*$`)
	outputEchoEnd    = regexp.MustCompile(`^\s*(?:echo|printf)\s+(?:-[a-zA-Z]+\s+)*["']?([^"'\s\\]+)`)
	outputHeredocCat = regexp.MustCompile(`^\s*cat\s+` + outputRedirect + `\s*<<-?\s*["']?([A-Za-z_]+)["']?\s*$`)
)

// literalOutputKeys finds the keys a script sets in its output file, when every line that
// names the file writes a literal key. Anything else (a computed key, the file handed to
// another program) makes the set unknown, and then nothing is checked at load.
func literalOutputKeys(script string) ([]string, bool) {
	if !strings.Contains(script, outputFileEnv) {
		return nil, false // it may still call a program that writes the file
	}
	var keys []string
	lines := strings.Split(script, "\n")
	inValue := "" // the delimiter of a key<<DELIMITER value being echoed
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if inValue != "" {
			if strings.Contains(line, outputFileEnv) {
				if m := outputEchoEnd.FindStringSubmatch(line); m != nil && m[1] == inValue {
					inValue = ""
				}
			}
			continue
		}
		if !strings.Contains(line, outputFileEnv) {
			continue
		}
		if m := outputHeredocCat.FindStringSubmatch(line); m != nil {
			end := slices.IndexFunc(lines[i+1:], func(l string) bool { return strings.TrimSpace(l) == m[1] })
			if end < 0 {
				return nil, false
			}
			body := strings.Join(lines[i+1:i+1+end], "\n")
			if !isLiteralBody(body) {
				return nil, false
			}
			values, err := parseOutputFile(body + "\n")
			if err != nil {
				return nil, false
			}
			for k := range values {
				keys = append(keys, k)
			}
			i += end + 1
			continue
		}
		m := outputEchoLine.FindStringSubmatch(line)
		if m == nil {
			return nil, false
		}
		keys = append(keys, m[1])
		if m[2] == "<<" {
			inValue = strings.TrimSuffix(m[3], `\n`)
			if inValue == "" {
				return nil, false
			}
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys), true
}

// isLiteralBody reports whether the keys of a here-document body are literal: values may be
// expanded, names may not.
func isLiteralBody(body string) bool {
	for _, l := range strings.Split(body, "\n") {
		key, _, _ := strings.Cut(l, "=")
		if strings.ContainsAny(key, "$`") {
			return false
		}
	}
	return true
}

// valuesKeys is the OutputKeys hook of the steps that run a shell: the keys of
// outputs.values, when the script's writes to its output file name them literally.
func valuesKeys(shell string) map[string][]string {
	if keys, known := literalOutputKeys(shell); known {
		return map[string][]string{"values": keys}
	}
	return nil
}
