package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/docker"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
)

type kindLoadParams struct {
	Name     string   `yaml:"name" doc:"cluster name" pb:"required"`
	Images   []string `yaml:"images" doc:"local Docker images to load into every node"`
	Archives []string `yaml:"archives" doc:"image archives (docker save output) to load into every node"`
}

func init() {
	engine.Register(engine.StepType[kindLoadParams]{
		Name:    "kindLoad",
		Summary: "load local images or image archives into every node of a kind cluster (offline labs)",
		Outputs: []engine.OutputDoc{{Name: "nodes", Type: "list", Doc: "the nodes loaded"}},
		Validate: func(p *kindLoadParams) error {
			if len(p.Images)+len(p.Archives) == 0 {
				return engine.Errorf("images", "give images or archives")
			}
			return nil
		},
		Run: runKindLoad,
	})
}

func runKindLoad(ctx context.Context, rt *engine.Runtime, p *kindLoadParams) (map[string]any, error) {
	nodeList, err := kindProvider(rt).ListInternalNodes(p.Name)
	if err != nil {
		return nil, err
	}
	if len(nodeList) == 0 {
		return nil, fmt.Errorf("kind cluster %s has no nodes (does it exist?)", p.Name)
	}
	archives := append([]string{}, p.Archives...)
	for i, a := range archives {
		if !filepath.IsAbs(a) {
			archives[i] = filepath.Join(rt.Dir(), a)
		}
	}
	if len(p.Images) > 0 {
		saved, err := saveImages(ctx, p.Images)
		if err != nil {
			return nil, err
		}
		defer os.Remove(saved)
		archives = append(archives, saved)
	}
	errs := make([]error, len(nodeList))
	var wg sync.WaitGroup
	names := []any{}
	for i, n := range nodeList {
		names = append(names, n.String())
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, a := range archives {
				f, err := os.Open(a)
				if err != nil {
					errs[i] = err
					return
				}
				err = nodeutils.LoadImageArchive(n, f)
				f.Close()
				if err != nil {
					errs[i] = fmt.Errorf("%s: loading %s: %w", n.String(), filepath.Base(a), err)
					return
				}
			}
			rt.WithPrefix(n.String()).Logf("loaded %d archive(s)", len(archives))
		}()
	}
	wg.Wait()
	return map[string]any{"nodes": names}, errors.Join(errs...)
}

// saveImages writes the images to one archive with the Docker API (docker save).
func saveImages(ctx context.Context, images []string) (string, error) {
	cli, err := docker.Client()
	if err != nil {
		return "", err
	}
	stream, err := cli.ImageSave(ctx, images)
	if err != nil {
		return "", fmt.Errorf("saving %v: %w", images, err)
	}
	defer stream.Close()
	f, err := os.CreateTemp("", "playbook-images-*.tar")
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, stream); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), f.Close()
}
