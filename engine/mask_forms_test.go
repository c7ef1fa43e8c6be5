package engine_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/report"
)

const formsSecret = "s3cr3t-Token_value+/=?&"

// everything runs body with the secret token (and long, a 400-byte one) and returns all that
// a run shows or stores: output lines, JSON events, the text report, JUnit, the state file,
// the error, plan and plan vars.
func everything(t *testing.T, body string, vars ...string) string {
	t.Helper()
	t.Setenv("PB_FORMS_TOKEN", formsSecret)
	t.Setenv("PB_FORMS_LONG", longSecret)
	dir := writeFiles(t, map[string]string{"pb.yaml": header + "secrets:\n  token: {env: PB_FORMS_TOKEN}\n  long: {env: PB_FORMS_LONG}\n" + body})
	sinks := runEverySink(t, dir, engine.LoadOptions{Vars: vars})
	all := []string{strings.Join(sinks.lines, "\n")}
	for _, text := range sinks.texts {
		all = append(all, text)
	}
	return strings.Join(all, "\n")
}

// sinks are what one run showed and stored, each by its name.
type sinks struct {
	texts map[string]string // json events, text, junit, state file, error, plan
	lines []string          // output lines
	c     *collect
	pb    *engine.Plan
	state string
	err   error
}

// runEverySink runs dir/pb.yaml with every reporter, a state file and plan, for the masking
// tests: a secret must show in none of them.
func runEverySink(t *testing.T, dir string, opts engine.LoadOptions) sinks {
	t.Helper()
	pb, err := engine.Load(filepath.Join(dir, "pb.yaml"), opts)
	if err != nil {
		t.Fatal(err)
	}
	var jsonOut, text bytes.Buffer
	junitPath, statePath := filepath.Join(dir, "junit.xml"), filepath.Join(dir, "state.json")
	junit := report.NewJUnitReporter(junitPath)
	c := &collect{}
	_, runErr := pb.Run(context.Background(), engine.RunOptions{StatePath: statePath,
		Reporters: []engine.Reporter{report.NewJSONReporter(&jsonOut), report.NewTextReporter(&text, false), junit, c}})
	junit.Close()
	plan, err := pb.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	planJSON, _ := json.Marshal(map[string]any{"vars": pb.MaskedVars(), "steps": plan})
	junitXML, _ := os.ReadFile(junitPath)
	state, _ := os.ReadFile(statePath)
	s := sinks{c: c, pb: pb, state: statePath, err: runErr, lines: c.lines(),
		texts: map[string]string{"json events": jsonOut.String(), "text": text.String(), "junit": string(junitXML),
			"state file": string(state), "plan": string(planJSON)}}
	if runErr != nil {
		s.texts["error"] = runErr.Error()
	}
	return s
}

var longSecret = "long-" + strings.Repeat("0123456789abcdef", 25)

// Every form of a secret that the docs list is masked, in every sink.
func TestSecretFormsAreMasked(t *testing.T) {
	b64 := func(prefix string) string {
		return base64.StdEncoding.EncodeToString([]byte(prefix + formsSecret + "!"))
	}
	b64url := func(prefix string) string { return base64.URLEncoding.EncodeToString([]byte(prefix + formsSecret)) }
	cases := []struct {
		name, body string
		vars       []string
		leaks      []string // what must not show
	}{
		{"base64 at each alignment", "vars: {blob: ''}\nsteps:\n  - {name: print, echo: {stdout: \"${{ vars.blob }}\"}}\n",
			[]string{"blob=" + b64("") + " " + b64("a") + " " + b64("ab")}, []string{b64("")[:20], b64("a")[4:24], b64("ab")[4:24]}},
		{"base64url at each alignment", "vars: {blob: ''}\nsteps:\n  - {name: print, echo: {stdout: \"${{ vars.blob }}\"}}\n",
			[]string{"blob=" + b64url("") + " " + b64url("x") + " " + b64url("xy")}, []string{b64url("")[:20], b64url("x")[4:24], b64url("xy")[4:24]}},
		{"URL-escaped", "vars: {u: ''}\nsteps:\n  - {name: print, echo: {stdout: \"${{ vars.u }}\"}}\n",
			[]string{"u=https://example.invalid/?t=" + url.QueryEscape(formsSecret) + " /p/" + url.PathEscape(formsSecret)}, []string{url.QueryEscape(formsSecret), url.PathEscape(formsSecret)}},
		{"computed inline", "steps:\n  - {name: print, echo: {stdout: \"${{ upper(vars.token) }} ${{ vars.token[2:14] }}\"}}\n",
			nil, []string{strings.ToUpper(formsSecret), formsSecret[2:14]}},
		{"computed into a map var", "vars:\n  m: {a: \"${{ lower(vars.token) }}\", plain: visible}\nsteps:\n  - {name: print, echo: {stdout: \"${{ vars.m.a }} ${{ vars.m.plain }}\"}}\n",
			nil, []string{strings.ToLower(formsSecret)}},
		{"computed into a list var, as loop items", "vars:\n  l: [\"${{ upper(vars.token) }}\"]\nsteps:\n  - {name: print, loop: \"${{ vars.l }}\", echo: {stdout: \"x\"}}\n  - {name: again, loop: \"${{ vars.l }}\", echo: {stdout: \"${{ lower(item) }}\"}}\n",
			nil, []string{strings.ToUpper(formsSecret), strings.ToLower(formsSecret)}},
		{"a long secret as a loop item, cut for its label", "steps:\n  - {name: print, loop: \"${{ [vars.long] }}\", echo: {stdout: x}}\n",
			nil, []string{longSecret[:40]}},
		{"a long secret in a failed assert's values", "steps:\n  - {name: compare, check: {that: [\"vars.long == 'x'\"]}}\n",
			nil, []string{longSecret[:40]}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			all := everything(t, tc.body, tc.vars...)
			for _, leak := range tc.leaks {
				if strings.Contains(all, leak) {
					t.Errorf("shows %q:\n%s", leak, all)
				}
			}
			if !strings.Contains(all, engine.Mask) {
				t.Errorf("nothing masked:\n%s", all)
			}
		})
	}
}

// A multi-line secret is masked whole and line by line, whatever the line ends and the
// indentation around it (a key in CRLF text, a key re-indented by Helm's nindent).
func TestMultiLineSecretMaskedLineByLine(t *testing.T) {
	key := "-----BEGIN TEST KEY-----\nMIIBVQIBADANBgkqhkiG9w0B\nAQEFAASCAT8wggE7AgEAAkEA\n-----END TEST KEY-----"
	m := engine.NewMasker(key)
	for name, text := range map[string]string{
		"CRLF":     strings.ReplaceAll(key, "\n", "\r\n"),
		"nindent":  "tls.key: |\n    " + strings.ReplaceAll(key, "\n", "\n    ") + "\n",
		"one line": "AQEFAASCAT8wggE7AgEAAkEA alone",
	} {
		got := m.String(text)
		for _, line := range []string{"MIIBVQIBADANBgkqhkiG9w0B", "AQEFAASCAT8wggE7AgEAAkEA"} {
			if strings.Contains(got, line) {
				t.Errorf("%s: shows %q:\n%s", name, line, got)
			}
		}
	}
}

// A secret too short to mask is said at load, by name.
func TestShortSecretWarns(t *testing.T) {
	t.Setenv("PB_SHORT", "abc")
	pb := mustLoad(t, header+"secrets:\n  pin: {env: PB_SHORT}\nsteps:\n  - {name: a, say: {message: x}}\n")
	if len(pb.Warnings) != 1 || !strings.Contains(pb.Warnings[0].Msg, `secret "pin" is shorter than 4 bytes, so it is not masked`) {
		t.Fatalf("warnings: %v", pb.Warnings)
	}
}
