package steps_test

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/testenv"
	"github.com/moby/moby/api/types/mount"
)

// startContainers runs n containers of the test image, labelled with a group of the test's
// own (and extra labels), each with the given mounts, and removes them when the test ends.
func startContainers(t *testing.T, n int, extra func(i int) map[string]string, mounts ...mount.Mount) (group string, names []string) {
	t.Helper()
	group = testenv.Name(t, "g")
	names = testenv.Sleepers(t, group, n, func(i int) map[string]string {
		labels := map[string]string{"kindlab.test/group": group}
		if extra != nil {
			maps.Copy(labels, extra(i))
		}
		return labels
	}, mounts...)
	return group, names
}

type runResult struct {
	events []engine.Event
	err    error
}

func runPlaybook(t *testing.T, body string, vars ...string) runResult {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "pb.yaml")
	os.WriteFile(path, []byte("apiVersion: playbook/v1\nkind: Playbook\nname: t\nvars: {group: '', dir: '', names: [], v: ''}\n"+body), 0o644)
	pb, err := engine.Load(path, engine.LoadOptions{Vars: append([]string{"dir=" + dir}, vars...)})
	if err != nil {
		t.Fatal(err)
	}
	var r runResult
	_, r.err = pb.Run(context.Background(), engine.RunOptions{Reporters: []engine.Reporter{engine.ReporterFunc(func(e engine.Event) {
		r.events = append(r.events, e)
	})}})
	return r
}

// Three containers run the command at once: each waits at a barrier (a volume they share)
// until all three have reached it, which a one-at-a-time run never passes. No timing is
// assumed: a loaded machine may start the execs seconds apart.
func TestDockerExecRunsInParallel(t *testing.T) {
	barrier := testenv.SharedVolume(t, testenv.Name(t, "barrier"), "/barrier")
	group, _ := startContainers(t, 3, nil, barrier)
	r := runPlaybook(t, `steps:
  - name: fan out
    id: x
    dockerExec:
      selector: "kindlab.test/group=${{ vars.group }}"
      shell: |
        echo start; touch /barrier/$(hostname); i=0
        until [ $(ls /barrier | wc -l) -ge 3 ]; do
          i=$((i+1)); if [ $i -gt 1200 ]; then echo alone at the barrier; exit 1; fi; sleep 0.1
        done; echo end
  - name: check
    assert: {that: ["len(steps.x.outputs.containers) == 3", "all(steps.x.outputs.containers, .stdout == 'start\\nend')"]}
`, "group="+group)
	if r.err != nil {
		t.Fatal(r.err)
	}
	prefixes := map[string]bool{}
	for _, e := range r.events {
		if e.Type == engine.StepOutput {
			prefixes[e.Prefix] = true
		}
	}
	if len(prefixes) != 3 {
		t.Errorf("output lines are not labelled by container: %v", prefixes)
	}
}

func TestDockerExecExitCodesAndStreams(t *testing.T) {
	group, names := startContainers(t, 1, nil)
	r := runPlaybook(t, "steps:\n"+
		"  - name: allowed\n    id: ok\n    dockerExec: {containers: [\"${{ vars.names[0] }}\"], shell: 'echo out; echo err >&2; exit 3', okExitCodes: [3]}\n"+
		"  - name: env and user\n    id: env\n    dockerExec: {containers: [\"${{ vars.names[0] }}\"], argv: [sh, -c, 'echo $GREETING $(id -u) $(pwd)'], env: {GREETING: hi}, user: nobody, workdir: /tmp}\n"+
		"  - name: check\n    assert:\n      that:\n        - steps.ok.outputs.containers[0].exitCode == 3\n        - steps.ok.outputs.containers[0].stdout == 'out'\n        - steps.ok.outputs.containers[0].stderr == 'err'\n        - steps.env.outputs.byContainer[vars.names[0]].stdout == 'hi 65534 /tmp'\n"+
		"  - name: failing\n    dockerExec: {containers: [\"${{ vars.names[0] }}\"], argv: [sh, -c, 'echo why >&2; exit 4']}\n",
		"group="+group, "names=["+names[0]+"]")
	if r.err == nil || !strings.Contains(r.err.Error(), names[0]+": sh exited with code 4: why") {
		t.Fatalf("err = %v", r.err)
	}
	for _, e := range r.events {
		if e.Type == engine.StepFinished && e.Step != "failing" && e.Status != engine.StatusSucceeded {
			t.Errorf("%s: %s %s", e.Step, e.Status, e.Error)
		}
	}
}

func TestDockerExecSelectsKindNodesByRole(t *testing.T) {
	cluster := testenv.Name(t, "kind")
	startContainers(t, 3, func(i int) map[string]string {
		role := "worker"
		if i == 0 {
			role = "control-plane"
		}
		return map[string]string{"io.x-k8s.kind.cluster": cluster, "io.x-k8s.kind.role": role}
	})
	r := runPlaybook(t, "steps:\n  - name: workers\n    id: w\n    dockerExec: {kindCluster: \""+cluster+"\", role: worker, argv: [hostname]}\n"+
		"  - name: all\n    id: all\n    dockerExec: {kindCluster: \""+cluster+"\", argv: [hostname]}\n"+
		"  - name: check\n    assert: {that: [\"len(steps.w.outputs.containers) == 2\", \"len(steps.all.outputs.containers) == 3\"]}\n")
	if r.err != nil {
		t.Fatal(r.err)
	}
}

func TestDockerCpInAndOut(t *testing.T) {
	group, names := startContainers(t, 2, nil)
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "pingtool"), []byte("#!/bin/sh\necho pong\n"), 0o755)
	os.MkdirAll(filepath.Join(src, "sub"), 0o755)
	os.WriteFile(filepath.Join(src, "sub", "note.txt"), []byte("nested"), 0o644)
	out := t.TempDir()
	r := runPlaybook(t, "steps:\n"+
		"  - name: file in\n    dockerCp: {selector: \"kindlab.test/group=${{ vars.group }}\", src: \""+filepath.Join(src, "pingtool")+"\", dest: /usr/local/bin/pingtool}\n"+
		"  - name: dir in\n    dockerCp: {selector: \"kindlab.test/group=${{ vars.group }}\", src: \""+src+"\", dest: /opt/tools}\n"+
		"  - name: use them\n    id: use\n    dockerExec: {selector: \"kindlab.test/group=${{ vars.group }}\", shell: 'pingtool && cat /opt/tools/sub/note.txt'}\n"+
		"  - name: out of one\n    dockerCp: {containers: [\""+names[0]+"\"], direction: out, src: /etc/passwd, dest: \""+filepath.Join(out, "passwd")+"\"}\n"+
		"  - name: out of both\n    id: both\n    dockerCp: {selector: \"kindlab.test/group=${{ vars.group }}\", direction: out, src: /opt/tools, dest: \""+filepath.Join(out, "tools")+"\"}\n"+
		"  - name: check\n    assert: {that: [\"all(steps.use.outputs.containers, .stdout == 'pong\\\\nnested')\", \"len(steps.both.outputs.copied) == 2\"]}\n",
		"group="+group)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if data, _ := os.ReadFile(filepath.Join(out, "passwd")); !strings.Contains(string(data), "nobody:") {
		t.Errorf("passwd copied out: %q", data)
	}
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(out, "tools", n, "sub", "note.txt"))
		if err != nil || string(data) != "nested" {
			t.Errorf("%s: %q %v", n, data, err)
		}
		if info, err := os.Stat(filepath.Join(out, "tools", n, "pingtool")); err != nil || info.Mode().Perm()&0o100 == 0 {
			t.Errorf("%s: ping lost its mode: %v", n, err)
		}
	}
}

// dockerExec's shell escapes each value for its context, as exec's does: a hostile value in
// double quotes and in an unquoted word reaches the container's shell as data.
func TestDockerExecShellKeepsValuesData(t *testing.T) {
	group, names := startContainers(t, 1, nil)
	hostile := hostileValue("/tmp/pwned")
	r := runPlaybook(t, "steps:\n"+
		"  - name: quoted\n    id: q\n    dockerExec: {containers: [\"${{ vars.names[0] }}\"], shell: 'printf \"%s|\" \"[${{ vars.v }}]\" [${{ vars.v }}]; test ! -e /tmp/pwned'}\n"+
		"  - name: check\n    assert: {that: [\"steps.q.outputs.containers[0].stdout == '[' + vars.v + ']|[' + vars.v + ']|'\"]}\n",
		"group="+group, "names=["+names[0]+"]", "v="+hostile)
	if r.err != nil {
		t.Fatal(r.err)
	}
}

// dockerCp out through a link that an earlier copy left in dest: the container's tree holds
// link -> a host directory, then a real directory of that name with a file in it; the second
// copy must not write into the host directory.
func TestDockerCpOutDoesNotFollowLinks(t *testing.T) {
	group, names := startContainers(t, 1, nil)
	victim := t.TempDir()
	dest := filepath.Join(t.TempDir(), "copy")
	step := "dockerCp: {containers: [\"${{ vars.names[0] }}\"], direction: out, src: /data, dest: " + dest + "}"
	r := runPlaybook(t, "steps:\n"+
		"  - name: a link in the container\n    dockerExec: {containers: [\"${{ vars.names[0] }}\"], shell: 'mkdir -p /data && ln -s "+victim+" /data/link'}\n"+
		"  - name: copy the link out\n    "+step+"\n"+
		"  - name: the link becomes a directory\n    dockerExec: {containers: [\"${{ vars.names[0] }}\"], shell: 'rm /data/link && mkdir /data/link && echo owned > /data/link/file'}\n"+
		"  - name: copy out again\n    "+step+"\n", "group="+group, "names=["+names[0]+"]")
	if _, err := os.Stat(filepath.Join(victim, "file")); err == nil {
		t.Fatal("dockerCp wrote through a link, outside dest")
	}
	if r.err == nil || !strings.Contains(r.err.Error(), `step "copy out again" failed`) {
		t.Errorf("err = %v", r.err)
	}
}
