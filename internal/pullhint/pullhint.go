// Package pullhint explains an image pull that failed for lack of a network: on a machine
// that cannot pull, the README's first command fails with a registry's DNS error and nothing
// more, while the offline lab would have run.
package pullhint

import (
	"fmt"
	"regexp"
)

// offlinePull matches a pull (docker's, containerd's, the kubelet's) that could not reach
// its registry: the name did not resolve, or nothing answered.
var offlinePull = regexp.MustCompile(`(?is)(pull|ErrImagePull|ImagePullBackOff).*(no such host|dial tcp|i/o timeout|connection refused|network is unreachable|server misbehaving|TLS handshake timeout|temporary failure in name resolution)`)

// Hint is what to do instead.
const Hint = "this machine could not pull an image (no network to the registry). Without one, run the offline lab: " +
	"bash hack/lab/build.sh && bash hack/lab/cilium-build.sh build the images here, then add --vars-file playbooks/vars/lab.yaml (docs/lab.md)"

// Explain adds Hint to an error that is a pull without a network; other errors pass as they are.
func Explain(err error) error {
	if err == nil || !offlinePull.MatchString(err.Error()) {
		return err
	}
	return fmt.Errorf("%w\n%s", err, Hint)
}
