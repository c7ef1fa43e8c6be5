package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kindlab/playbook/engine"
)

// Secrets that break text-based masking: characters that JSON, XML and shells escape, a
// quote of each kind, unicode, and a multi-line key read from a file.
const (
	hostileSecret = `p&ss<w0rd>"\'-ünï-日本`
	keySecret     = "-----BEGIN TEST KEY-----\nMIIBVQIBADANBgkqhkiG9w0B\nAQEFAASCAT8wggE7AgEAAkEA\n-----END TEST KEY-----"
	itemSecret    = "deploy-item-7781"
)

// leaks lists the forms in which a secret would show in text: as is, JSON-escaped (Go's
// encoder escapes & < > too), XML-escaped, and each distinctive line of a multi-line one.
func leaks(secret string) []string {
	forms := []string{secret}
	j, _ := json.Marshal(secret)
	forms = append(forms, string(j[1:len(j)-1]))
	var x bytes.Buffer
	_ = xml.EscapeText(&x, []byte(secret))
	forms = append(forms, x.String())
	for _, line := range strings.Split(secret, "\n") {
		if len(line) > 16 && !strings.HasPrefix(line, "-----") {
			forms = append(forms, line)
		}
	}
	return forms
}

func assertNoLeak(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		for _, form := range leaks(s) {
			if strings.Contains(text, form) {
				t.Errorf("%s shows a secret as %q:\n%s", what, form, text)
			}
		}
	}
}

const maskPlaybook = header + `secrets:
  token: {env: PB_TEST_TOKEN}
  key: {file: key.pem}
  item: {env: PB_TEST_ITEM}
vars:
  user: admin
  auth: "${{ vars.user }}:${{ vars.token }}"
  shout: "${{ upper(vars.token) }}"
steps:
  - name: print them
    id: print
    echo:
      stdout: "token=${{ vars.token }}\nkey follows\n${{ vars.key }}\nauth=${{ vars.auth }}"
      prefix: "${{ vars.item }}"
  - name: "use ${{ vars.item }}"
    say: {message: "${{ vars.shout }}"}
  - name: loop over secrets
    loop: ["${{ vars.item }}", plain]
    say: {message: "item ${{ index }}"}
  - name: fail with it
    echo: {stderr: "denied for ${{ vars.auth }}", exitCode: 3}
`

// A secret never shows: not in output lines (a multi-line one included), item labels, step
// names, prefixes, JSON events, the text report, JUnit, the state file, plan, or errors; in no
// escaped form either. Vars computed from a secret are masked as well.
func TestSecretsAreMaskedEverywhere(t *testing.T) {
	t.Setenv("PB_TEST_TOKEN", hostileSecret)
	t.Setenv("PB_TEST_ITEM", itemSecret)
	dir := writeFiles(t, map[string]string{"pb.yaml": maskPlaybook, "key.pem": keySecret + "\n"})
	run := runEverySink(t, dir, engine.LoadOptions{})
	if run.err == nil {
		t.Fatal("the failing step did not fail")
	}
	c, pb, statePath := run.c, run.pb, run.state
	shout := strings.ToUpper(hostileSecret)
	for what, s := range run.texts {
		assertNoLeak(t, what, s, hostileSecret, keySecret, itemSecret, shout, "admin:"+hostileSecret)
		if !strings.Contains(s, "***") {
			t.Errorf("%s has no mask where the secrets were:\n%s", what, s)
		}
	}
	lines := strings.Join(c.lines(), "\n")
	if !strings.Contains(lines, "token=***\nkey follows\n***\nauth=***") {
		t.Errorf("output lines:\n%s", lines)
	}
	if e, _ := c.finished("use ***"); e.Status != engine.StatusSucceeded {
		t.Errorf("a step name holding a secret is not masked: %v", c.events)
	}
	if info, _ := os.Stat(statePath); info.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v: it may hold outputs", info.Mode().Perm())
	}
	if vars := pb.MaskedVars(); vars["auth"] != "***" || vars["shout"] != "***" || vars["user"] != "admin" {
		t.Errorf("plan vars: %v", vars)
	}
}

// Every text field of every event is masked: a field added later cannot be forgotten.
func TestMaskerMasksEveryEventField(t *testing.T) {
	m := engine.NewMasker(hostileSecret)
	var e engine.Event
	v := reflect.ValueOf(&e).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch {
		case f.Kind() == reflect.String && f.Type() == reflect.TypeOf(""):
			f.SetString("x " + hostileSecret + " y")
		case f.Type() == reflect.TypeOf([]string{}):
			f.Set(reflect.ValueOf([]string{hostileSecret}))
		}
	}
	e.Outputs = map[string]any{"stdout": hostileSecret, "list": []any{"a " + hostileSecret}}
	e.Diagnostics = []engine.Diagnostic{{Msg: "bad " + hostileSecret}}
	data, _ := json.Marshal(m.Event(e))
	assertNoLeak(t, "event", string(data), hostileSecret)
}

// Masking walks values, so a secret inside a map key, a list or a nested map is found, and
// the value given to later steps stays as it was.
func TestMaskerValue(t *testing.T) {
	m := engine.NewMasker(hostileSecret, "ab") // too short to mask
	in := map[string]any{"k-" + hostileSecret: []any{map[string]any{"x": hostileSecret + "!"}}, "short": "ab"}
	out := m.Value(in)
	data, _ := json.Marshal(out)
	if strings.Contains(string(data), "ab\"") == false || !strings.Contains(string(data), `"k-***"`) || !strings.Contains(string(data), `"***!"`) {
		t.Errorf("masked: %s", data)
	}
	if _, ok := in["k-"+hostileSecret]; !ok {
		t.Error("masking changed the value steps see")
	}
}

// A secret that arrives split across writes, or spans lines, is still masked in live lines.
func TestCaptureMasksAcrossWritesAndLines(t *testing.T) {
	t.Setenv("PB_TEST_TOKEN", keySecret)
	text := "before\n" + keySecret + "\nafter " + keySecret + " end\n"
	for _, chunk := range []int{1, 3, 7, 64, len(text)} {
		pb := mustLoad(t, header+"secrets:\n  token: {env: PB_TEST_TOKEN}\nsteps:\n  - name: w\n    chunked: {text: "+yamlQuote(text)+", chunk: "+itoa(chunk)+"}\n")
		c, _, err := run(t, pb, engine.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(c.lines(), "\n")
		if got != "before\n***\nafter *** end" {
			t.Errorf("chunk %d: lines\n%s", chunk, got)
		}
	}
}

func TestSecretsFromFlagFileAndMissing(t *testing.T) {
	dir := writeFiles(t, map[string]string{"token.txt": hostileSecret + "\n",
		"pb.yaml": header + "secrets:\n  fromFile: {file: token.txt}\n  fromEnv: {env: PB_UNSET_SECRET_VAR}\nsteps:\n  - {name: a, id: a, say: {message: \"${{ vars.fromFile }}\"}}\n"})
	path := filepath.Join(dir, "pb.yaml")
	pb, err := engine.Load(path, engine.LoadOptions{})
	if err != nil {
		t.Fatalf("validate and plan must work without secrets: %v", err)
	}
	_, err = pb.Run(context.Background(), engine.RunOptions{})
	if err == nil || !engine.IsInvalidInput(err) || err.Error() != `secret "fromEnv" has no value: set $PB_UNSET_SECRET_VAR or --secret fromEnv=...` {
		t.Errorf("missing secret: %v", err)
	}
	pb, err = engine.Load(path, engine.LoadOptions{Secrets: []string{"fromEnv=given-on-the-command-line"}})
	if err != nil {
		t.Fatal(err)
	}
	c := &collect{}
	if _, err := pb.Run(context.Background(), engine.RunOptions{Reporters: []engine.Reporter{c}}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.lines(), ","); got != "***" {
		t.Errorf("file secret shown as %q", got)
	}
	if masked := pb.MaskedVars(); masked["fromFile"] != "***" || masked["fromEnv"] != "***" {
		t.Errorf("plan vars: %v", masked)
	}
	_, err = engine.Load(path, engine.LoadOptions{Secrets: []string{"fromEvn=x"}})
	if err == nil || !strings.Contains(err.Error(), `did you mean "fromEnv"?`) || strings.Contains(err.Error(), "=x") {
		t.Errorf("unknown --secret: %v", err)
	}
}

// A load error about a secret's value does not print the value.
func TestSecretsMaskedInLoadErrors(t *testing.T) {
	t.Setenv("PB_TEST_TOKEN", hostileSecret)
	_, err := load(t, header+"secrets:\n  token: {env: PB_TEST_TOKEN}\nsteps:\n  - {name: a, typed: {words: \"${{ vars.token }}\"}}\n")
	if err == nil || !strings.Contains(err.Error(), `got "***"`) {
		t.Errorf("err = %v", err)
	}
	assertNoLeak(t, "load error", err.Error(), hostileSecret)
}
