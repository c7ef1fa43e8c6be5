// Package steps holds the step plugins. Each file registers one step type into the engine
// from init; no plugin imports another, so any one can be read, tested or removed alone.
package steps
