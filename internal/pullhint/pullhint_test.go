package pullhint

import (
	"errors"
	"strings"
	"testing"
)

func TestExplain(t *testing.T) {
	cases := []struct {
		err  string
		hint bool
	}{
		// What Docker says for kind's node image on a machine without a network.
		{`kind create cluster lab: failed to pull image "kindest/node:v1.23.4": command "docker pull kindest/node:v1.23.4" failed with error: exit status 1: Error response from daemon: Get "https://example.invalid/v2/": dial tcp: lookup example.invalid on 10.0.0.2:53: no such host`, true},
		// What the kubelet says in a pod's waiting state.
		{`pod cilium-abc: ErrImagePull: failed to pull and unpack image "quay.invalid/cilium/cilium:v1.13.0": dial tcp 1.2.3.4:443: i/o timeout`, true},
		{`pod x: ImagePullBackOff: Back-off pulling image "a/b": Get "https://r/v2/": dial tcp: lookup r: Temporary failure in name resolution`, true},
		{`pod x: ErrImageNeverPull: Container image "kindlab/cilium:v1.20.0" is not present with pull policy of Never`, false},
		{`pull access denied for nothere, repository does not exist`, false},
		{`dial tcp 127.0.0.1:6443: connection refused`, false},
	}
	for _, tc := range cases {
		err := Explain(errors.New(tc.err))
		if got := strings.Contains(err.Error(), Hint); got != tc.hint {
			t.Errorf("%q: hint %v, want %v", tc.err, got, tc.hint)
		}
	}
	if Explain(nil) != nil {
		t.Error("nil became an error")
	}
}
