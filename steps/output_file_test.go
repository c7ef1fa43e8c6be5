package steps

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseOutputFile(t *testing.T) {
	cases := []struct {
		name, data string
		want       map[string]any
		err        string
	}{
		{"empty", "", map[string]any{}, ""},
		{"pairs", "a=1\nb=two words\nc=\n", map[string]any{"a": "1", "b": "two words", "c": ""}, ""},
		{"value with =", "url=http://x/?a=b\n", map[string]any{"url": "http://x/?a=b"}, ""},
		{"last wins", "a=1\na=2\n", map[string]any{"a": "2"}, ""},
		{"heredoc", "body<<EOF\nline 1\nx=y\n\nEOF\nafter=1\n", map[string]any{"body": "line 1\nx=y\n", "after": "1"}, ""},
		{"heredoc with = in the delimiter line", "k<<a=b\nv\na=b\n", map[string]any{"k": "v"}, ""},
		{"crlf", "a=1\r\nb<<E\r\nv\r\nE\r\n", map[string]any{"a": "1", "b": "v\r"}, ""},
		{"unclosed heredoc", "body<<EOF\nline\n", nil, "line 1: the value of body has no closing EOF line"},
		{"no separator", "a=1\njust text\n", nil, `line 2: "just text": write key=value`},
		{"bad name", "my key=1\n", nil, `"my key" is not a name`},
		{"empty delimiter", "k<<\n", nil, "write key<<DELIMITER"},
	}
	for _, tc := range cases {
		got, err := parseOutputFile(tc.data)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %#v, %v; want %#v", tc.name, got, err, tc.want)
		}
	}
}

func TestLiteralOutputKeys(t *testing.T) {
	cases := []struct {
		name, script string
		keys         []string
		known        bool
	}{
		{"no output file", "echo hi", nil, false},
		{"echo", `echo "ip=$(hostname -i)" >> "$PLAYBOOK_OUTPUT"`, []string{"ip"}, true},
		{"several forms", "echo a=1 >> $PLAYBOOK_OUTPUT\nprintf 'b=%s\\n' \"$x\" >> ${PLAYBOOK_OUTPUT};\necho -n 'c=3' >> \"${PLAYBOOK_OUTPUT}\" && true", nil, false},
		{"printf and echo", "echo a=1 >> $PLAYBOOK_OUTPUT\nprintf 'b=%s\\n' \"$x\" >> ${PLAYBOOK_OUTPUT};\necho -n 'c=3' >> \"${PLAYBOOK_OUTPUT}\"", []string{"a", "b", "c"}, true},
		{"echoed heredoc", "echo 'body<<EOF' >> $PLAYBOOK_OUTPUT\ncat notes.txt >> $PLAYBOOK_OUTPUT\necho EOF >> $PLAYBOOK_OUTPUT\necho n=1 >> $PLAYBOOK_OUTPUT", []string{"body", "n"}, true},
		{"cat heredoc", "cat >> \"$PLAYBOOK_OUTPUT\" <<EOF\nx=$(date)\ny<<END\nmulti\nEND\nEOF\nls", []string{"x", "y"}, true},
		{"computed key", `echo "$k=1" >> $PLAYBOOK_OUTPUT`, nil, false},
		{"handed to a program", `./build.sh --output "$PLAYBOOK_OUTPUT"`, nil, false},
		{"computed key in a here-document", "cat >> $PLAYBOOK_OUTPUT <<EOF\n$k=1\nEOF", nil, false},
	}
	for _, tc := range cases {
		keys, known := literalOutputKeys(tc.script)
		if known != tc.known || !reflect.DeepEqual(keys, tc.keys) {
			t.Errorf("%s: got %v, %v; want %v, %v", tc.name, keys, known, tc.keys, tc.known)
		}
	}
}
