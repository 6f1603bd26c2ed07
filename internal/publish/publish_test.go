package publish

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/kiln-build/kiln/internal/imageref"
)

// platformImage returns a small random image whose config names platform p.
func platformImage(t *testing.T, p string) v1.Image {
	t.Helper()
	plat, err := v1.ParsePlatform(p)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = plat.OS, plat.Architecture, plat.Variant
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// platformIndex returns an index with one image per platform.
func platformIndex(t *testing.T, ps ...string) (v1.ImageIndex, map[string]v1.Image) {
	t.Helper()
	var idx v1.ImageIndex = empty.Index
	imgs := map[string]v1.Image{}
	for _, p := range ps {
		img := platformImage(t, p)
		imgs[p] = img
		plat, _ := v1.ParsePlatform(p)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: plat}})
	}
	return idx, imgs
}

func digest(t *testing.T, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func configName(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	h, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func mustRef(t *testing.T, s string) imageref.Ref {
	t.Helper()
	r, err := imageref.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func publisher(t *testing.T, s string, opts ...Option) Publisher {
	t.Helper()
	p, err := New(mustRef(t, s), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func read(t *testing.T, s string) *imageref.Source {
	t.Helper()
	src, err := imageref.Read(context.Background(), mustRef(t, s))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

var errBroken = errors.New("broken layer")

// brokenLayer claims a digest and size but fails partway through its
// contents, as a layer whose source file vanishes mid-build would.
type brokenLayer struct{}

func (brokenLayer) Digest() (v1.Hash, error) {
	return v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}, nil
}
func (brokenLayer) DiffID() (v1.Hash, error) {
	return v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("cd", 32)}, nil
}
func (brokenLayer) Size() (int64, error)                { return 1 << 20, nil }
func (brokenLayer) MediaType() (types.MediaType, error) { return types.DockerLayer, nil }
func (brokenLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(io.MultiReader(bytes.NewReader(make([]byte, 4096)), errReader{})), nil
}
func (l brokenLayer) Uncompressed() (io.ReadCloser, error) { return l.Compressed() }

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBroken }

func brokenImage(t *testing.T) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(platformImage(t, "linux/amd64"), brokenLayer{})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// dirNames lists a directory, to show that no temporary files are left.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// requireDocker skips when there is no engine, except in CI where a missing
// engine is a failure.
func requireDocker(t *testing.T) {
	t.Helper()
	if err := exec.Command("docker", "info").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("docker info: %v (CI=true requires an engine)", err)
		}
		t.Skipf("no Docker engine: %v", err)
	}
}

func TestNewRefusesNonOutputs(t *testing.T) {
	for _, s := range []string{"deb:bookworm", "docker-daemon:acme/api@sha256:" + strings.Repeat("0", 64)} {
		if _, err := New(mustRef(t, s)); err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("New(%s) = %v, want an error naming it", s, err)
		}
	}
}

func TestArtifactNeedsExactlyOne(t *testing.T) {
	dir := t.TempDir()
	img := platformImage(t, "linux/amd64")
	idx, _ := platformIndex(t, "linux/amd64")
	for _, a := range []Artifact{{}, {Index: idx, Image: img}} {
		for _, s := range []string{"oci:" + dir + "/o", "docker-archive:" + dir + "/a.tar"} {
			if _, err := publisher(t, s).Publish(context.Background(), a); !errors.Is(err, errArtifact) {
				t.Errorf("%s: Publish(%+v) = %v, want errArtifact", s, a, err)
			}
		}
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("failed publishes left %v", names)
	}
}
