package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kindlab/playbook/internal/atomicfile"
)

// runState is what a run remembers for --resume: each step's status, outputs and a hash of
// its resolved inputs. Secrets in it are masked, and it is readable by its owner only.
type runState struct {
	Playbook string                `json:"playbook"`
	Updated  time.Time             `json:"updated"`
	Steps    map[string]*stepState `json:"steps"`
}

type stepState struct {
	Status  Status    `json:"status"`
	Inputs  string    `json:"inputs"`
	Outputs any       `json:"outputs,omitempty"`
	Ended   time.Time `json:"ended"`
}

// DefaultStatePath is where a playbook's run state lives unless --state says otherwise:
// $XDG_STATE_HOME/playbook/runs (~/.local/state/playbook/runs), one file per playbook path.
func DefaultStatePath(playbookFile string) string {
	abs, err := filepath.Abs(playbookFile)
	if err != nil {
		abs = playbookFile
	}
	sum := sha256.Sum256([]byte(abs))
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".local", "state")
	}
	name := filepath.Base(abs)
	name = name[:len(name)-len(filepath.Ext(name))]
	return filepath.Join(base, "playbook", "runs", name+"-"+hex.EncodeToString(sum[:6])+".json")
}

func loadState(path string) (*runState, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, usagef("--resume: no earlier run of this playbook (no state at %s)", path)
	}
	if err != nil {
		return nil, err
	}
	var st runState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	return &st, nil
}

// save writes the state atomically: a crash or Ctrl-C mid-write leaves the last good state.
func (st *runState) save(path string) error {
	st.Updated = time.Now()
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, bytes.NewReader(data), 0o700)
}

func stepKey(s *Step) string {
	if s.ID != "" {
		return "id:" + s.ID
	}
	return "name:" + s.Name
}

// inputsHash fingerprints what a step would do now: its type, its parameters resolved with the
// current vars and step outputs (for a loop, the items and the written parameters), and its
// when. "" means it cannot be known, and the step then runs.
func (r *runner) inputsHash(s *Step) string {
	env := &Env{Vars: r.pb.Vars, Steps: r.steps}
	fingerprint := map[string]any{"type": s.Type}
	if s.When != nil {
		fingerprint["when"] = s.When.Source
	}
	if s.Loop != nil {
		d := &decoder{file: s.File, scope: s.scope, cache: s.cache, env: env, runtime: true}
		items, _ := d.value(s.Loop, "loop")
		if len(d.diags) > 0 {
			return ""
		}
		fingerprint["items"], fingerprint["vars"] = items, r.pb.Vars
		fingerprint["params"], _ = (&decoder{file: s.File, scope: s.scope, cache: s.cache, env: env, plan: true}).value(s.params, s.Type)
	} else {
		params, err := s.resolveParams(env)
		if err != nil {
			return ""
		}
		fingerprint["params"] = params
		if s.When != nil {
			fingerprint["vars"] = r.pb.Vars
		}
	}
	data, err := json.Marshal(fingerprint)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
