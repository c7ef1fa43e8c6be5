package steps_test

import (
	"testing"

	"github.com/kindlab/playbook/internal/testenv"
)

// TestMain keeps what the steps write between runs (kind's records and kubeconfigs, Helm's
// chart cache, client-go's discovery cache) out of the real home.
func TestMain(m *testing.M) { testenv.Main(m) }
