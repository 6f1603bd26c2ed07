package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func repoTags(t *testing.T, file string) []string {
	t.Helper()
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(file) })
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 {
		t.Fatalf("%s holds %d images, want 1", file, len(m))
	}
	return m[0].RepoTags
}

func TestTarballRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	img := platformImage(t, "linux/arm64")

	file := filepath.Join(dir, "sub", "img.tar")
	ref := "docker-archive:" + file + ":acme/api:1.4"
	res, err := publisher(t, ref).Publish(ctx, Artifact{Image: img})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ref != ref || res.Digest != digest(t, img) {
		t.Errorf("Result = %+v", res)
	}
	if got := repoTags(t, file); !slices.Equal(got, []string{"acme/api:1.4"}) {
		t.Errorf("RepoTags = %v", got)
	}
	src := read(t, ref)
	if configName(t, src.Image) != configName(t, img) {
		t.Error("config differs after the round trip")
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode())
	}

	untagged := filepath.Join(dir, "untagged.tar")
	if _, err := publisher(t, "docker-archive:"+untagged).Publish(ctx, Artifact{Image: img}); err != nil {
		t.Fatal(err)
	}
	if got := repoTags(t, untagged); len(got) != 0 {
		t.Errorf("untagged archive has RepoTags %v", got)
	}
	if src := read(t, "docker-archive:"+untagged); configName(t, src.Image) != configName(t, img) {
		t.Error("untagged archive holds another image")
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"sub", "untagged.tar"}) {
		t.Errorf("left %v beside the outputs", got)
	}
}

func TestTarballIndexPicksPlatform(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	host := "linux/" + runtime.GOARCH
	other := "linux/s390x"
	idx, imgs := platformIndex(t, host, other)
	file := filepath.Join(dir, "img.tar")
	ref := "docker-archive:" + file + ":acme/api:1"

	res, err := publisher(t, ref).Publish(ctx, Artifact{Index: idx})
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != digest(t, imgs[host]) || configName(t, read(t, ref).Image) != configName(t, imgs[host]) {
		t.Errorf("default platform: wrote %s, want the %s image", res.Digest, host)
	}

	res, err = publisher(t, ref, WithPlatform(v1.Platform{OS: "linux", Architecture: "s390x"})).Publish(ctx, Artifact{Index: idx})
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != digest(t, imgs[other]) || configName(t, read(t, ref).Image) != configName(t, imgs[other]) {
		t.Errorf("WithPlatform(%s): wrote %s", other, res.Digest)
	}

	foreign, _ := platformIndex(t, "linux/s390x", "linux/ppc64le")
	_, err = publisher(t, ref).Publish(ctx, Artifact{Index: foreign})
	want := fmt.Sprintf("no image for platform %s (it has: linux/ppc64le, linux/s390x)", host)
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), ref) {
		t.Errorf("index without the host platform = %v, want %q", err, want)
	}
}

func TestTarballFailureKeepsPrevious(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "img.tar")
	p := publisher(t, "docker-archive:"+file+":acme/api:1")
	if _, err := p.Publish(context.Background(), Artifact{Image: platformImage(t, "linux/amd64")}); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := p.Publish(context.Background(), Artifact{Image: brokenImage(t)}); !errors.Is(err, errBroken) {
		t.Errorf("Publish of a broken image = %v, want errBroken", err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Publish(cancelled, Artifact{Image: platformImage(t, "linux/amd64")}); !errors.Is(err, context.Canceled) {
		t.Errorf("Publish with a cancelled context = %v", err)
	}

	after, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("a failed write changed the previous archive")
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"img.tar"}) {
		t.Errorf("failed writes left %v", got)
	}

	if _, err := publisher(t, "docker-archive:"+dir).Publish(context.Background(), Artifact{Image: platformImage(t, "linux/amd64")}); err == nil ||
		!strings.Contains(err.Error(), "is a directory") {
		t.Errorf("Publish to a directory = %v", err)
	}
}
