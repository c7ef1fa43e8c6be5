package engine

import (
	"strings"
	"testing"
)

// Where the middle of a long output is dropped, neither cut keeps a part of a secret: the
// masker, which sees the kept text afterwards, could not tell a secret's half.
func TestBoundedOutputNeverKeepsHalfASecret(t *testing.T) {
	secret := "half-and-half-secret"
	m := NewMasker(secret)
	for cut := 1; cut < len(secret); cut++ {
		b := boundedBuffer{headMax: 32, tailMax: 32}
		head := strings.Repeat("h", 32-cut) + secret // the head ends inside the secret
		b.write([]byte(head + strings.Repeat("m", 100) + secret[cut:] + strings.Repeat("t", 32-len(secret)+cut)))
		b.write([]byte{})
		kept := b.String(m)
		if strings.Contains(kept, secret[:cut]) && cut >= 3 || strings.Contains(kept, secret[cut:]) && len(secret)-cut >= 3 {
			t.Errorf("cut %d keeps part of the secret: %q", cut, kept)
		}
		if !strings.Contains(kept, "bytes of output dropped") {
			t.Fatalf("nothing was dropped: %q", kept)
		}
	}
}
