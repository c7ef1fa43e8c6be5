package steps

import (
	"fmt"

	"github.com/kindlab/playbook/engine"
)

func didYouMean(word string, candidates []string) string {
	if s := engine.Suggest(word, candidates); s != "" {
		return fmt.Sprintf("; did you mean %q?", s)
	}
	return ""
}

func toAnyList(list []string) []any {
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out
}
