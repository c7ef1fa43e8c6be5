package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/job"
	"github.com/kindlab/playbook/model"
)

// loadCells loads every playbook of the command line as a cell; a matrix file stands for
// its cells. Every problem of every file is returned: nothing may run if one is wrong.
func loadCells(paths []string, lf loadFlags) ([]job.Cell, []error) {
	var cells []job.Cell
	var errs []error
	taken := map[string]int{}
	add := func(name, path string, vars map[string]string) {
		opts := lf.options()
		for _, k := range slices.Sorted(maps.Keys(vars)) {
			opts.Vars = append(opts.Vars, k+"="+vars[k])
		}
		pb, err := engine.Load(path, opts)
		if err != nil {
			errs = append(errs, err)
			return
		}
		if name == "" {
			name = pb.Name
		}
		if taken[name]++; taken[name] > 1 {
			name += "-" + strconv.Itoa(taken[name])
		}
		all := lf.cellVars()
		maps.Copy(all, vars)
		cells = append(cells, job.Cell{Name: name, Plan: pb, Vars: all, StatePath: cellStatePath(pb, vars)})
	}
	for _, path := range paths {
		if !model.IsMatrix(path) {
			add("", path, nil)
			continue
		}
		m, ds := model.LoadMatrix(path)
		if len(ds) > 0 {
			errs = append(errs, ds)
			continue
		}
		for _, c := range m.Cells {
			add(c.Name, c.Playbook, c.Vars)
		}
	}
	return cells, errs
}

// cellStatePath is the playbook's own state file, and for a matrix cell one per var set: the
// same playbook with other vars is another run to resume.
func cellStatePath(pb *engine.Plan, vars map[string]string) string {
	path := engine.DefaultStatePath(pb)
	if len(vars) == 0 {
		return path
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		fmt.Fprintf(&b, "%s=%s\n", k, vars[k])
	}
	sum := sha256.Sum256([]byte(b.String()))
	return strings.TrimSuffix(path, ".json") + "-" + hex.EncodeToString(sum[:4]) + ".json"
}
