package publish

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

func TestLayoutRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	img := platformImage(t, "linux/amd64")
	out := filepath.Join(dir, "a", "b", "img")
	res, err := publisher(t, "oci:"+out+":v1.0").Publish(ctx, Artifact{Image: img})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ref != "oci:"+out+":v1.0" || res.Digest != digest(t, img) || len(res.Pushed) != 0 {
		t.Errorf("Result = %+v", res)
	}
	if src := read(t, "oci:"+out+":v1.0"); src.Image == nil || src.Digest != digest(t, img) {
		t.Errorf("read back %+v", src)
	}

	idx, imgs := platformIndex(t, "linux/amd64", "linux/arm64")
	out = filepath.Join(dir, "idx")
	if _, err := publisher(t, "oci:"+out).Publish(ctx, Artifact{Index: idx}); err != nil {
		t.Fatal(err)
	}
	src := read(t, "oci:"+out)
	if src.Index == nil || src.Digest != digest(t, idx) {
		t.Fatalf("read back %+v", src)
	}
	arm, err := src.ForPlatform(v1.Platform{OS: "linux", Architecture: "arm64"})
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, arm) != digest(t, imgs["linux/arm64"]) {
		t.Error("arm64 image differs after the round trip")
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"a", "idx"}) {
		t.Errorf("left %v beside the outputs", got)
	}
}

// layoutManifests returns the digests index.json of the layout at dir lists.
func layoutManifests(t *testing.T, dir string) []v1.Hash {
	t.Helper()
	ii, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var hs []v1.Hash
	for _, d := range im.Manifests {
		hs = append(hs, d.Digest)
	}
	return hs
}

func TestLayoutReplacesPrevious(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	a, b := platformImage(t, "linux/amd64"), platformImage(t, "linux/amd64")
	for _, img := range []v1.Image{a, b} {
		if _, err := publisher(t, "oci:"+out+":latest").Publish(ctx, Artifact{Image: img}); err != nil {
			t.Fatal(err)
		}
	}
	if got := layoutManifests(t, out); !slices.Equal(got, []v1.Hash{digest(t, b)}) {
		t.Errorf("layout lists %v, want only %s", got, digest(t, b))
	}
	// Nothing of the previous image is left behind.
	if _, err := os.Stat(filepath.Join(out, "blobs", "sha256", digest(t, a).Hex)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("previous manifest still there: %v", err)
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"out"}) {
		t.Errorf("left %v beside the output", got)
	}
}

func TestLayoutFailureKeepsPrevious(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	prev := platformImage(t, "linux/amd64")
	p := publisher(t, "oci:"+out+":v1")
	if _, err := p.Publish(context.Background(), Artifact{Image: prev}); err != nil {
		t.Fatal(err)
	}

	_, err := p.Publish(context.Background(), Artifact{Image: brokenImage(t)})
	if !errors.Is(err, errBroken) || !strings.Contains(err.Error(), "oci:"+out+":v1") {
		t.Errorf("Publish of a broken image = %v, want errBroken naming the output", err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Publish(cancelled, Artifact{Image: platformImage(t, "linux/amd64")}); !errors.Is(err, context.Canceled) {
		t.Errorf("Publish with a cancelled context = %v", err)
	}

	if src := read(t, "oci:"+out+":v1"); src.Digest != digest(t, prev) {
		t.Errorf("after failed writes the layout holds %s, want the previous %s", src.Digest, digest(t, prev))
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"out"}) {
		t.Errorf("failed writes left %v", got)
	}
}

func TestLayoutRefusesOtherTargets(t *testing.T) {
	dir := t.TempDir()
	img := platformImage(t, "linux/amd64")

	notLayout := filepath.Join(dir, "src")
	if err := os.MkdirAll(notLayout, 0o755); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(notLayout, "main.py")
	if err := os.WriteFile(keep, []byte("print()\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for target, want := range map[string]string{
		notLayout: "not an OCI layout; refusing to replace it",
		file:      "not a directory",
	} {
		_, err := publisher(t, "oci:"+target).Publish(context.Background(), Artifact{Image: img})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Publish to %s = %v, want %q", target, err, want)
		}
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("the unrelated directory was touched: %v", err)
	}

	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := publisher(t, "oci:"+empty).Publish(context.Background(), Artifact{Image: img}); err != nil {
		t.Errorf("Publish to an empty directory: %v", err)
	}
}
