package engine

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// secretSpec says where a secret's value comes from when --secret does not give it.
type secretSpec struct {
	Env  string `yaml:"env" doc:"environment variable holding the value"`
	File string `yaml:"file" doc:"file holding the value (a trailing newline is dropped); relative to the playbook"`
}

// secretMinLen is the shortest value that is masked: masking a one- or two-letter value would
// blank out every occurrence of those letters in all output.
const secretMinLen = 4

type secretDecl struct {
	name string
	spec secretSpec
	file string
	node *yaml.Node
}

func (l *loader) addSecrets(path string, n *yaml.Node) {
	d := &decoder{file: path, scope: &Scope{}, cache: map[*yaml.Node]any{}}
	n = resolveAlias(n)
	if n.Kind != yaml.MappingNode {
		l.errorf(path, n, "", "secrets: expected a mapping of name: {env: ..., file: ...}, got %s", describeNode(n))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		name, node := n.Content[i].Value, n.Content[i+1]
		var spec secretSpec
		d.decode(node, reflect.ValueOf(&spec).Elem(), fieldOpts{path: "secrets." + name})
		if !idPattern.MatchString(name) || strings.Contains(name, "-") {
			d.errorf(keyOf(n, name), "", "secret name %q must be a letter followed by letters, digits or _", name)
			continue
		}
		l.secrets = append(l.secrets, secretDecl{name: name, spec: spec, file: path, node: keyOf(n, name)})
	}
	l.diags = append(l.diags, d.diags...)
}

func keyOf(mapping *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(mapping.Content); i += 2 {
		if mapping.Content[i].Value == key {
			return mapping.Content[i]
		}
	}
	return mapping
}

// resolveSecrets reads each secret's value (--secret, then env, then file) and declares it as
// a var. A secret without a value is an error only when the playbook runs, so that validate
// and plan work without credentials.
func (l *loader) resolveSecrets(pb *Playbook, given []string) error {
	values := map[string]string{}
	for _, kv := range given {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usagef("--secret %q: expected key=value", redactValue(kv))
		}
		values[k] = v
	}
	declared := map[string]bool{}
	for _, s := range l.secrets {
		if _, isVar := l.varIdx[s.name]; isVar {
			l.errorf(s.file, s.node, "", "%q is declared both as a var and as a secret", s.name)
			continue
		}
		declared[s.name] = true
		value, ok := values[s.name]
		if !ok && s.spec.Env != "" {
			value, ok = os.LookupEnv(s.spec.Env)
		}
		if !ok && s.spec.File != "" {
			path := s.spec.File
			if !filepath.IsAbs(path) {
				path = filepath.Join(filepath.Dir(s.file), path)
			}
			if data, err := os.ReadFile(path); err == nil {
				value, ok = strings.TrimRight(string(data), "\r\n"), true
			}
		}
		if !ok {
			pb.missingSecrets = append(pb.missingSecrets, describeSecretSources(s))
		}
		if len(value) >= secretMinLen {
			pb.secretValues = append(pb.secretValues, value)
		}
		pb.Secrets = append(pb.Secrets, s.name)
		l.setVar(varDecl{name: s.name, node: &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}, file: s.file, secret: true})
	}
	for k := range values {
		if !declared[k] {
			names := make([]string, 0, len(declared))
			for n := range declared {
				names = append(names, n)
			}
			sort.Strings(names)
			msg := fmt.Sprintf("--secret %s: the playbook declares no secret %q (secrets: %s)", k, k, strings.Join(names, ", "))
			if s := Suggest(k, names); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			return usagef("%s", msg)
		}
	}
	// Longest first, so a secret that contains another is masked whole.
	sort.Slice(pb.secretValues, func(i, j int) bool { return len(pb.secretValues[i]) > len(pb.secretValues[j]) })
	return nil
}

func describeSecretSources(s secretDecl) string {
	var ways []string
	if s.spec.Env != "" {
		ways = append(ways, "$"+s.spec.Env)
	}
	if s.spec.File != "" {
		ways = append(ways, "the file "+s.spec.File)
	}
	ways = append(ways, "--secret "+s.name+"=...")
	return fmt.Sprintf("secret %q has no value: set %s", s.name, strings.Join(ways, " or "))
}

func redactValue(kv string) string {
	k, _, _ := strings.Cut(kv, "=")
	return k + "=***"
}

// Mask replaces every secret value in s with ***.
func (pb *Playbook) Mask(s string) string {
	for _, v := range pb.secretValues {
		s = strings.ReplaceAll(s, v, "***")
	}
	return s
}

// MaskValue returns v with every secret value inside its strings masked; used for what is
// shown or stored (plan, the state file), never for the values steps pass to each other.
func (pb *Playbook) MaskValue(v any) any {
	if len(pb.secretValues) == 0 {
		return v
	}
	data, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal([]byte(pb.Mask(string(data))), &out) != nil {
		return v
	}
	return out
}

// MaskedVars is the vars map with secret vars shown as ***.
func (pb *Playbook) MaskedVars() map[string]any {
	out := make(map[string]any, len(pb.Vars))
	for k, v := range pb.Vars {
		out[k] = v
	}
	for _, name := range pb.Secrets {
		out[name] = "***"
	}
	return out
}

// checkSecrets fails a run whose secrets are not all set.
func (pb *Playbook) checkSecrets() error {
	if len(pb.missingSecrets) == 0 {
		return nil
	}
	return &UsageError{Msg: strings.Join(pb.missingSecrets, "\n")}
}

// maskedError keeps an error's type (for errors.As) while showing its text masked.
type maskedError struct {
	err  error
	text string
}

func (e *maskedError) Error() string { return e.text }
func (e *maskedError) Unwrap() error { return e.err }

func (pb *Playbook) maskError(err error) error {
	if err == nil || len(pb.secretValues) == 0 {
		return err
	}
	masked := pb.Mask(err.Error())
	if masked == err.Error() {
		return err
	}
	return &maskedError{err: err, text: masked}
}
