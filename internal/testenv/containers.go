package testenv

import (
	"context"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// Sleepers starts n containers of the test image that only sleep, named group-a, group-b, …
// and labelled with labels(i), for steps to exec into; they are removed when the test ends.
func Sleepers(t testing.TB, group string, n int, labels func(i int) map[string]string) (names []string) {
	t.Helper()
	cli := Docker(t)
	image := Image(t, cli)
	ctx := context.Background()
	for i := range n {
		name := group + "-" + string(rune('a'+i))
		created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Image: image,
			Config: &container.Config{Cmd: []string{"sleep", "3600"}, Labels: labels(i)}})
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
