package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/kindlab/playbook/internal/atomicfile"
	"github.com/kindlab/playbook/internal/xdg"
)

// runState is what a run remembers for --resume: each step's status, outputs and a
// fingerprint of what it read. It never holds a secret: a step whose outputs held one keeps
// no outputs here, and runs again on resume. Readable by its owner only.
type runState struct {
	Playbook string                `json:"playbook"`
	File     string                `json:"file"`
	Updated  time.Time             `json:"updated"`
	Steps    map[string]*stepState `json:"steps"`
}

type stepState struct {
	Status      Status    `json:"status"`
	Fingerprint string    `json:"fingerprint"`
	Outputs     any       `json:"outputs,omitempty"`
	Secret      bool      `json:"secret,omitempty"` // its outputs held a secret, so none are kept
	Ended       time.Time `json:"ended"`
}

var unsafeNameRE = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// DefaultStatePath is where a playbook's run state lives unless --state says otherwise:
// $XDG_STATE_HOME/playbook/runs/NAME-HASH.json, NAME the playbook's name and HASH that of its
// file's path, so two checkouts of one playbook keep apart.
func DefaultStatePath(p *Plan) string {
	abs, err := filepath.Abs(p.File)
	if err != nil {
		abs = p.File
	}
	sum := sha256.Sum256([]byte(abs))
	name := unsafeNameRE.ReplaceAllString(p.Name, "_")
	return filepath.Join(xdg.StateHome(), "playbook", "runs", name+"-"+hex.EncodeToString(sum[:6])+".json")
}

// resumer keeps the run's state file and answers whether a step can be skipped on resume.
type resumer struct {
	plan  *Plan
	path  string
	state *runState
	prev  *runState // the run being resumed
	saved time.Time
	dirty bool
	err   error
	// notice is said when the run starts (no earlier state to resume).
	notice string
	lock   *stateLock
}

// close releases the state file for the next run.
func (r *resumer) close() {
	if r != nil {
		r.lock.release()
	}
}

func newResumer(p *Plan, opts RunOptions) (*resumer, error) {
	if opts.StatePath == "" {
		return nil, nil
	}
	lock, err := lockState(opts.StatePath)
	if err != nil {
		return nil, err
	}
	r := &resumer{plan: p, path: opts.StatePath, lock: lock,
		state: &runState{Playbook: p.masker.String(p.Name), File: p.File, Steps: map[string]*stepState{}}}
	if opts.Resume {
		prev, err := loadState(opts.StatePath)
		if err != nil {
			lock.release()
			return nil, err
		}
		r.prev = prev
		if prev == nil {
			// As make does with nothing built: a CI job can always pass --resume.
			r.notice = fmt.Sprintf("--resume: no earlier run of this playbook (no state at %s): running every step", opts.StatePath)
		}
	}
	return r, nil
}

// loadState reads the state of the run being resumed; nil when there was none.
func loadState(path string) (*runState, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	// Nothing has run yet: a state that cannot be read is said now, as a usage problem.
	if err != nil {
		return nil, usagef("--resume: %v", err)
	}
	var st runState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, usagef("--resume: the state file %s is not a run's state (%v): remove it, or run without --resume", path, err)
	}
	return &st, nil
}

// key names a step in the state file: by id, or by name (masked: a name may hold a var).
func (r *resumer) key(s *Step) string {
	if s.ID != "" {
		return "id:" + s.ID
	}
	return "name:" + r.plan.masker.String(s.Name)
}

// fingerprint covers everything the step would act on, evaluated: its type and name, its
// parameters as they would be bound now (so every var, env() value and step result they read
// counts), its loop's items and each item's parameters, its when and retry, the status and
// outputs of every step its expressions read, and the content of every local file its type
// says it reads. A step whose inputs changed is not the step that succeeded. A step whose
// inputs cannot be evaluated now gets no fingerprint: it runs.
func (r *resumer) fingerprint(s *Step, steps map[string]any) string {
	if r == nil {
		return ""
	}
	fp := map[string]any{"type": s.Type, "name": s.Name}
	if s.When != nil {
		fp["when"] = s.When.Source
	}
	if s.Retry != nil {
		fp["retry"] = s.Retry
	}
	vars := map[string]any{}
	for _, name := range s.reads.vars {
		vars[name] = r.plan.Vars[name]
	}
	fp["vars"] = vars
	read := map[string]any{}
	ids := s.reads.steps
	if s.reads.anyStep {
		ids = sortedKeys(steps)
	}
	for _, id := range ids {
		if res, ok := steps[id].(*stepResult); ok {
			read[id] = map[string]any{"status": res.Status, "outputs": res.Outputs}
		}
	}
	fp["steps"] = read
	envs := []*Env{r.plan.env(steps)}
	if s.loop != nil {
		items, itemEnvs, err := r.plan.loopEnvs(s, steps)
		if err != nil {
			return ""
		}
		fp["loop"], envs = items, itemEnvs
	}
	var params, when, files []any
	for _, env := range envs {
		if s.When != nil {
			v, err := s.When.Eval(env)
			if err != nil {
				return ""
			}
			when = append(when, v)
		}
		p, err := s.params.bind(env)
		if err != nil {
			return ""
		}
		params = append(params, p.Interface())
		for _, path := range s.plugin.files(pointerTo(p)) {
			files = append(files, r.fileSum(path))
		}
	}
	fp["params"], fp["whenValues"], fp["files"] = params, when, files
	// Hashed as it is encoded: the outputs read may be megabytes.
	sum := sha256.New()
	if err := json.NewEncoder(sum).Encode(fp); err != nil {
		return ""
	}
	return hex.EncodeToString(sum.Sum(nil))
}

// fileSum is what a step's file holds (every file below a directory, every file a glob
// matches), as a hash; a file that is not there counts as such.
func (r *resumer) fileSum(path string) string {
	if path == "" || strings.Contains(path, "://") {
		return path // a URL or a registry reference: not a local file
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(r.plan.File), path)
	}
	matches, err := filepath.Glob(path)
	if err != nil || len(matches) == 0 {
		matches = []string{path}
	}
	sum := sha256.New()
	for _, match := range matches {
		if err := hashTree(sum, match); err != nil {
			return path + ": " + err.Error()
		}
	}
	return hex.EncodeToString(sum.Sum(nil))
}

func hashTree(sum io.Writer, path string) error {
	return filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		fmt.Fprintf(sum, "%s\x00", p)
		_, err = io.Copy(sum, f)
		return err
	})
}

// restore skips a step that succeeded in the resumed run with the same fingerprint, giving
// later steps its outputs. A step whose outputs held a secret runs again: the state file
// never keeps one, and a masked value must never stand in for the real one.
func (r *resumer) restore(run *runner, s *Step, fingerprint string) bool {
	if r == nil || r.prev == nil || fingerprint == "" {
		return false
	}
	prev, ok := r.prev.Steps[r.key(s)]
	if !ok || prev.Status != StatusSucceeded || prev.Fingerprint != fingerprint {
		return false
	}
	if prev.Secret {
		run.note = "running again: this step succeeded in the previous run, but its outputs held a secret, which the state file never keeps"
		return false
	}
	run.record(s, StatusSucceeded, prev.Outputs, "")
	run.result.Steps[s.Name] = StatusSucceeded
	r.state.Steps[r.key(s)] = prev
	ev := run.baseEvent(s)
	ev.Type, ev.Status, ev.Reason, ev.Outputs = StepFinished, StatusSkipped, "succeeded in the previous run with the same inputs", prev.Outputs
	run.em.emit(ev)
	return true
}

const stateSaveEvery = 250 * time.Millisecond

// save records how a step ended. Saving rewrites the whole file, so a long run of quick
// steps saves at most every stateSaveEvery: a crash loses only the record of steps that
// resuming runs again anyway.
func (r *resumer) save(s *Step, status Status, outputs any, fingerprint string) {
	if r == nil {
		return
	}
	st := &stepState{Status: status, Fingerprint: fingerprint, Ended: time.Now()}
	if s.ID != "" && status == StatusSucceeded {
		if r.plan.masker.Holds(outputs) {
			st.Secret = true
		} else {
			st.Outputs = outputs
		}
	}
	r.state.Steps[r.key(s)] = st
	if status == StatusSucceeded && time.Since(r.saved) < stateSaveEvery {
		r.dirty = true
		return
	}
	if err := r.write(); err != nil && r.err == nil {
		r.err = err
	}
}

func (r *resumer) flush() error {
	if r == nil {
		return nil
	}
	if r.dirty {
		if err := r.write(); err != nil && r.err == nil {
			r.err = err
		}
	}
	return r.err
}

func (r *resumer) write() error {
	r.state.Updated = time.Now()
	err := atomicfile.Write(r.path, 0o700, func(w io.Writer) error {
		// One line of JSON, encoded straight into the file: indenting would copy every
		// output held in the state twice more.
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(r.state)
	})
	if err != nil {
		return fmt.Errorf("saving the run state: %w", err)
	}
	r.saved, r.dirty = time.Now(), false
	return nil
}
