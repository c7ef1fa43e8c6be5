package kube

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// CRDResource is where CustomResourceDefinitions live.
var CRDResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// HasCondition reports whether status.conditions holds type with status (e.g. Ready True).
func HasCondition(obj map[string]any, condType, status string) bool {
	c := Condition(obj, condType)
	return c != nil && c["status"] == status
}

// Condition returns the status condition of the given type, or nil.
func Condition(obj map[string]any, condType string) map[string]any {
	conds, _, _ := unstructured.NestedSlice(obj, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == condType {
			return m
		}
	}
	return nil
}
