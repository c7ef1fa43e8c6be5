package steps_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/kindlab/playbook/engine"
)

// The listener answers the steps after it with the address each connection came from, and is
// gone when the run ends.
func TestListenAnswersWithTheSourceAddress(t *testing.T) {
	body := "steps:\n" +
		"  - {name: listen, id: outside, listen: {address: '127.0.0.1:0', name: outside}}\n" +
		"  - name: curl\n    id: curl\n    exec: {argv: [curl, -sf, 'http://${{ steps.outside.outputs.address }}/']}\n" +
		"  - name: curl by host and port\n    id: curl2\n    exec: {argv: [curl, -sf, 'http://${{ steps.outside.outputs.host }}:${{ steps.outside.outputs.port }}/']}\n"
	finished, _, err := loadRun(t, body)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"curl", "curl by host and port"} {
		if got := finished[id].Outputs.(map[string]any)["stdout"]; got != "outside 127.0.0.1" {
			t.Errorf("%s read %q, want the listener's name and the source address", id, got)
		}
	}
	address := finished["listen"].Outputs.(map[string]any)["address"].(string)
	if conn, err := net.DialTimeout("tcp", address, time.Second); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections after the run ended", address)
	}
}

// A container on a Docker network reaches the listener through the network's gateway, and the
// answer names the container's own address: what a masquerading node would change.
func TestListenSeesAContainersAddress(t *testing.T) {
	_, names := startContainers(t, 1, nil)
	r := runPlaybook(t, "steps:\n"+
		"  - {name: listen, id: outside, listen: {address: '0.0.0.0:0'}}\n"+
		"  - name: probe\n    id: probe\n    dockerExec:\n      containers: [\"${{ vars.names[0] }}\"]\n      shell: |\n"+
		"        gateway=$(ip route | awk '/^default/ {print $3}')\n"+
		"        printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 \"$gateway\" ${{ steps.outside.outputs.port }} | tail -n 1\n"+
		"        hostname -i\n",
		"names=["+names[0]+"]")
	if r.err != nil {
		t.Fatal(r.err)
	}
	var out string
	for _, e := range r.events {
		if e.Type == engine.StepFinished && e.Step == "probe" {
			out = e.Outputs.(map[string]any)["containers"].([]any)[0].(map[string]any)["stdout"].(string)
		}
	}
	lines := strings.Split(out, "\n")
	if len(lines) != 2 || lines[0] != "playbook "+strings.TrimSpace(lines[1]) {
		t.Errorf("the container read %q, want \"playbook\" and its own address", out)
	}
}

// A host that is not this machine's is refused by name, and a connection that never sends
// anything does not keep the run from ending.
func TestListenFailures(t *testing.T) {
	_, _, err := loadRun(t, "steps:\n  - {name: listen, listen: {address: '192.0.2.1:0'}}\n")
	if err == nil || !strings.Contains(err.Error(), "cannot listen on 192.0.2.1:0") {
		t.Errorf("listening on a foreign address: %v", err)
	}
	start := time.Now()
	_, _, err = loadRun(t, "steps:\n"+
		"  - {name: listen, id: outside, listen: {address: '127.0.0.1:0'}}\n"+
		"  - name: silent\n    exec: {shell: '(sleep 10 | curl -s telnet://127.0.0.1:${{ steps.outside.outputs.port }} >/dev/null) & sleep 0.3'}\n")
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("the run took %s: it waited for a silent connection", took)
	}
}
