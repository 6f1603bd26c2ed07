package publish

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestMulti(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	img := platformImage(t, "linux/amd64")
	regA, regB := startRegistry(t), startRegistry(t)
	oci := "oci:" + filepath.Join(dir, "layout") + ":v1"
	archive := "docker-archive:" + filepath.Join(dir, "img.tar") + ":acme/api:v1"

	m := Multi(publisher(t, regA.host+"/app:v1"), publisher(t, oci), publisher(t, archive), publisher(t, regB.host+"/app:v1"))
	if want := strings.Join([]string{regA.host + "/app:v1", oci, archive, regB.host + "/app:v1"}, ", "); m.String() != want {
		t.Errorf("String = %q, want %q", m.String(), want)
	}
	res, err := m.Publish(ctx, Artifact{Image: img})
	if err != nil {
		t.Fatal(err)
	}
	d := digest(t, img)
	if res.Ref != regA.host+"/app:v1@"+d.String() || res.Digest != d {
		t.Errorf("Result = %s %s, want the first output's", res.Ref, res.Digest)
	}
	one, size := blobs(t, img)
	if want := append(slices.Clone(one), one...); !slices.Equal(res.Pushed, want) || res.PushedBytes != 2*size {
		t.Errorf("Pushed = %v (%d bytes), want both registries' %v (%d bytes)", res.Pushed, res.PushedBytes, want, 2*size)
	}
	for _, ref := range []string{regA.host + "/app:v1", regB.host + "/app:v1", oci, archive} {
		if src := read(t, ref); configName(t, src.Image) != configName(t, img) {
			t.Errorf("%s holds another image", ref)
		}
	}
}

func TestMultiStopsAtFirstFailure(t *testing.T) {
	dir := t.TempDir()
	notLayout := filepath.Join(dir, "src")
	if err := os.MkdirAll(filepath.Join(notLayout, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "img.tar")
	m := Multi(publisher(t, "oci:"+notLayout), publisher(t, "docker-archive:"+archive))
	_, err := m.Publish(context.Background(), Artifact{Image: platformImage(t, "linux/amd64")})
	if err == nil || !strings.Contains(err.Error(), "oci:"+notLayout) {
		t.Errorf("Publish = %v, want the failing output named", err)
	}
	if _, err := os.Stat(archive); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the output after the failing one was written: %v", err)
	}

	if _, err := Multi().Publish(context.Background(), Artifact{Image: platformImage(t, "linux/amd64")}); err == nil {
		t.Error("Multi() published to nowhere without an error")
	}
}
