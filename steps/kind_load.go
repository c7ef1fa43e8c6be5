package steps

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/docker"
	"github.com/kindlab/playbook/internal/fanout"
	"github.com/kindlab/playbook/internal/pullhint"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
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
		Example: `- name: load the images built here
  kindLoad:
    name: lab
    images: [kindlab/cilium:v1.20.0]`,
		Outputs: []engine.OutputDoc{{Name: "nodes", Type: "list", Doc: "the nodes loaded"}},
		Validate: func(p *kindLoadParams) error {
			if len(p.Images)+len(p.Archives) == 0 {
				return engine.Errorf("images", "give images or archives")
			}
			return nil
		},
		// A pull that failed for lack of a network says what to do instead.
		Run: func(ctx context.Context, rt *engine.Runtime, p *kindLoadParams) (map[string]any, error) {
			out, err := runKindLoad(ctx, rt, p)
			return out, pullhint.Explain(err)
		},
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
	// Only what a node lacks is loaded: a rerun on the same cluster loads nothing, as kind's
	// own `kind load docker-image` does.
	missing, err := missingImages(ctx, rt, p.Images, nodeList)
	if err != nil {
		return nil, err
	}
	saved := map[string]string{} // image -> archive
	var toSave []string
	for _, images := range missing {
		for _, image := range images {
			if _, ok := saved[image]; !ok {
				saved[image] = ""
				toSave = append(toSave, image)
			}
		}
	}
	for _, image := range toSave {
		path, err := saveImages(ctx, rt, []string{image})
		if err != nil {
			return nil, err
		}
		defer os.Remove(path)
		saved[image] = path
	}
	names := make([]any, len(nodeList))
	for i, n := range nodeList {
		names[i] = n.String()
	}
	err = fanout.Each(ctx, len(nodeList), 0, func(ctx context.Context, i int) error {
		n := nodeList[i]
		load := append([]string{}, archives...)
		for _, image := range missing[n.String()] {
			load = append(load, saved[image])
		}
		out := rt.WithPrefix(n.String())
		if len(load) == 0 {
			out.Logf("has every image already")
			return nil
		}
		for _, a := range load {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := loadArchive(n, a); err != nil {
				return fmt.Errorf("%s: loading %s: %w", n.String(), filepath.Base(a), err)
			}
		}
		out.Logf("loaded %d image(s): %s", len(missing[n.String()]), strings.Join(missing[n.String()], ", "))
		return nil
	})
	return map[string]any{"nodes": names}, err
}

func loadArchive(n nodes.Node, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return nodeutils.LoadImageArchive(n, f)
}

// missingImages says, for each node, which images it lacks or holds in another version: the
// Docker image's ID is its config digest, which containerd reports as the image's id.
func missingImages(ctx context.Context, rt *engine.Runtime, images []string, nodeList []nodes.Node) (map[string][]string, error) {
	missing := map[string][]string{}
	if len(images) == 0 {
		return missing, nil
	}
	cli, err := docker.Client(rt)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(images))
	for i, image := range images {
		info, err := cli.ImageInspect(ctx, image)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", image, err)
		}
		ids[i] = info.ID
	}
	for _, n := range nodeList {
		for i, image := range images {
			if id, err := nodeutils.ImageID(n, image); err != nil || id != ids[i] {
				missing[n.String()] = append(missing[n.String()], image)
			}
		}
	}
	return missing, nil
}

// saveImages writes the images to one archive with the Docker API (docker save).
func saveImages(ctx context.Context, rt *engine.Runtime, images []string) (string, error) {
	cli, err := docker.Client(rt)
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
