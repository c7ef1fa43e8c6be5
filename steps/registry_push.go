package steps

import (
	"context"
	"fmt"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/kindlab/playbook/engine"
	"github.com/kindlab/playbook/internal/docker"
	"github.com/moby/moby/client"
)

type registryPushParams struct {
	Address string   `yaml:"address" doc:"the registry this machine pushes to, host:port (the registry step's address output)" pb:"required"`
	Images  []string `yaml:"images" doc:"local Docker images, by name:tag; each is pushed as ADDRESS/name:tag" pb:"required"`
}

// pushProgressEvery is how often a long push says how far it got (a var for the test that
// reads those lines without a push of minutes).
var pushProgressEvery = 5 * time.Second

func init() {
	engine.Register(engine.StepType[registryPushParams]{
		Name:    "registryPush",
		Summary: "push local Docker images to a registry: only the layers it lacks are sent",
		Example: `- name: a registry for the lab's images
  id: registry
  registry: {image: kindlab/registry:lab}
- name: the lab's images, served by the registry
  registryPush:
    address: "${{ steps.registry.outputs.address }}"
    images: [kindlab/cilium:v1.20.0, kindlab/busybox:lab]`,
		Outputs: []engine.OutputDoc{
			{Name: "images", Type: "list", Doc: "per image: image, ref (as the nodes pull it), pushed and existing (layers sent, and layers the registry had)"},
			{Name: "refs", Type: "list", Doc: "the pushed references, in the order given"},
		},
		Validate: func(p *registryPushParams) error {
			for _, img := range p.Images {
				if _, err := reference.ParseNormalizedNamed(img); err != nil {
					return engine.Errorf("images", "%q is not an image reference: %v", img, err)
				}
			}
			return nil
		},
		Run: runRegistryPush,
	})
}

func runRegistryPush(ctx context.Context, rt *engine.Runtime, p *registryPushParams) (map[string]any, error) {
	cli, err := docker.Client(rt)
	if err != nil {
		return nil, err
	}
	// Every image is there before any is pushed: a push stopped halfway helps no one.
	for _, img := range p.Images {
		if _, err := cli.ImageInspect(ctx, img); err != nil {
			if cerrdefs.IsNotFound(err) {
				return nil, fmt.Errorf("image %s is not in the Docker engine: build or pull it first", img)
			}
			return nil, err
		}
	}
	var results, refs []any
	for _, img := range p.Images {
		named, _ := reference.ParseNormalizedNamed(img)
		target := p.Address + "/" + reference.Path(named) + ":" + tagOf(named)
		if _, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: img, Target: target}); err != nil {
			return nil, fmt.Errorf("tagging %s as %s: %w", img, target, err)
		}
		pushed, existing, err := pushImage(ctx, rt, cli, target)
		if err != nil {
			return nil, fmt.Errorf("pushing %s to %s: %w", img, p.Address, err)
		}
		rt.Logf("%s: %d layers sent, %d the registry had", target, pushed, existing)
		results = append(results, map[string]any{"image": img, "ref": target, "pushed": pushed, "existing": existing})
		refs = append(refs, target)
	}
	return map[string]any{"images": results, "refs": refs}, nil
}

func tagOf(named reference.Named) string {
	if t, ok := reference.TagNameOnly(named).(reference.Tagged); ok {
		return t.Tag()
	}
	return "latest"
}

// pushImage has the engine push target and counts the layers it sent and those the registry
// already had; a long push says how far it got every few seconds.
func pushImage(ctx context.Context, rt *engine.Runtime, cli *client.Client, target string) (pushed, existing int, err error) {
	// The daemon wants an auth header even for a registry that asks for none: "{}".
	resp, err := cli.ImagePush(ctx, target, client.ImagePushOptions{RegistryAuth: "e30="})
	if err != nil {
		return 0, 0, err
	}
	defer resp.Close()
	last := time.Now()
	sent := map[string]int64{}
	for msg, err := range resp.JSONMessages(ctx) {
		if err != nil {
			return pushed, existing, err
		}
		if msg.Error != nil {
			return pushed, existing, fmt.Errorf("%s", msg.Error.Message)
		}
		switch {
		case msg.Status == "Pushed":
			pushed++
		case strings.HasPrefix(msg.Status, "Layer already exists"):
			existing++
		case msg.Status == "Pushing" && msg.Progress != nil:
			sent[msg.ID] = msg.Progress.Current
		}
		if time.Since(last) > pushProgressEvery {
			var total int64
			for _, n := range sent {
				total += n
			}
			rt.Logf("%s: %d MB sent so far", target, total>>20)
			last = time.Now()
		}
	}
	return pushed, existing, nil
}
