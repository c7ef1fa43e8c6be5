package engine

import (
	"reflect"
	"strings"
	"sync"
)

// fieldInfo is what the decoder and `playbook steps` read from a parameter struct's tags:
// `yaml:"key"`, `doc:"..."` and `pb:"required,bool"`.
type fieldInfo struct {
	key      string
	index    []int
	doc      string
	typ      reflect.Type
	required bool
	shell    bool
	asBool   bool
	object   bool // expressions here may use `object`, the Kubernetes object being examined
	oneOf    string
}

type structInfo struct {
	list  []fieldInfo
	byKey map[string]fieldInfo
	keys  []string
}

var structInfoCache sync.Map

func structFields(t reflect.Type) *structInfo {
	if si, ok := structInfoCache.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{byKey: map[string]fieldInfo{}}
	addFields(si, t, nil)
	structInfoCache.Store(t, si)
	return si
}

// addFields collects t's fields; an embedded struct's fields count as the outer struct's own,
// so plugins share parameter groups (a kubeconfig target) by embedding them.
func addFields(si *structInfo, t reflect.Type, prefix []int) {
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		index := append(append([]int{}, prefix...), i)
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			addFields(si, sf.Type, index)
			continue
		}
		key := strings.Split(sf.Tag.Get("yaml"), ",")[0]
		if key == "-" || !sf.IsExported() {
			continue
		}
		if key == "" {
			key = strings.ToLower(sf.Name[:1]) + sf.Name[1:]
		}
		// A Script is a shell script: its ${{ }} values reach the shell through the environment.
		fi := fieldInfo{key: key, index: index, doc: sf.Tag.Get("doc"), typ: sf.Type, shell: sf.Type == scriptType}
		for _, opt := range strings.Split(sf.Tag.Get("pb"), ",") {
			switch opt {
			case "required":
				fi.required = true
			case "bool":
				fi.asBool = true
			case "object":
				fi.object = true
			default:
				if group, ok := strings.CutPrefix(opt, "oneof="); ok {
					fi.oneOf = group
				}
			}
		}
		si.list = append(si.list, fi)
		si.byKey[key] = fi
		si.keys = append(si.keys, key)
	}
}
