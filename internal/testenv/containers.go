package testenv

import (
	"context"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
)

// Sleepers starts n containers of the test image that only sleep, named group-a, group-b, …
// and labelled with labels(i), for steps to exec into, each with the given mounts; they are
// removed when the test ends.
func Sleepers(t testing.TB, group string, n int, labels func(i int) map[string]string, mounts ...mount.Mount) (names []string) {
	t.Helper()
	cli := Docker(t)
	image := Image(t, cli)
	ctx := context.Background()
	for i := range n {
		name := group + "-" + string(rune('a'+i))
		created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Image: image,
			Config:     &container.Config{Cmd: []string{"sleep", "3600"}, Labels: labels(i)},
			HostConfig: &container.HostConfig{Mounts: mounts}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cli.ContainerRemove(context.Background(), created.ID, client.ContainerRemoveOptions{Force: true})
		})
		if _, err := cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	return names
}

// SharedVolume creates a Docker volume, removed when the test ends (after the containers that
// mount it, when it is created before them), and returns its mount at target.
func SharedVolume(t testing.TB, name, target string) mount.Mount {
	t.Helper()
	cli := Docker(t)
	if _, err := cli.VolumeCreate(context.Background(), client.VolumeCreateOptions{Name: name}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cli.VolumeRemove(context.Background(), name, client.VolumeRemoveOptions{Force: true})
	})
	return mount.Mount{Type: mount.TypeVolume, Source: name, Target: target}
}
