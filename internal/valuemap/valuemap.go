// Package valuemap merges nested values the way Helm and the playbook merge() do.
package valuemap

// Merge merges src into dst: nested maps merge, anything else replaces. Maps taken from src
// are copied, so src is never changed through dst.
func Merge(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			dm, ok := dst[k].(map[string]any)
			if !ok {
				dm = map[string]any{}
				dst[k] = dm
			}
			Merge(dm, sm)
			continue
		}
		dst[k] = v
	}
}
