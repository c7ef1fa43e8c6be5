// Package remotekill stops a command a step started in a container when the step is
// cancelled. Neither `docker exec` nor `kubectl exec` can signal what it started, and closing
// the connection leaves the command running, so the step runs a second command in the same
// container that finds the first and everything it started, by a marker in their environment
// (which survives a shell exec'ing its last command, and children inherit), and ends them.
package remotekill

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// EnvName is the variable that marks a step's command in the container.
const EnvName = "PLAYBOOK_EXEC"

// NewMarker returns a fresh NAME=value for one command.
func NewMarker() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return EnvName + "=" + hex.EncodeToString(b)
}

// MarkerID is the unique part of a marker, for naming what else belongs to the same command.
func MarkerID(marker string) string { return strings.TrimPrefix(marker, EnvName+"=") }

// script needs only sh, tr and kill: busybox has them, as has every image with a shell. The
// command gets half a second between SIGTERM and SIGKILL: a cancelled step stops within one.
const script = `marker=$1
found=
for d in /proc/[0-9]*; do
  pid=${d#/proc/}
  [ "$pid" = "$$" ] && continue
  case "$(tr '\0' '\n' < "$d/environ" 2>/dev/null)" in
    *"$marker"*) found="$found $pid" ;;
  esac
done
[ -z "$found" ] && exit 0
for p in $found; do kill -s TERM $p 2>/dev/null; done
sleep 0.5
for p in $found; do kill -s KILL $p 2>/dev/null; done
exit 0`

// Command is what to run in the container to stop every process that carries marker.
func Command(marker string) []string {
	return []string{"sh", "-c", script, "remotekill", marker}
}
