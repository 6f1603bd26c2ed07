package imageref

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// platformImage returns a small random image whose config names platform p.
func platformImage(t *testing.T, p string) v1.Image {
	t.Helper()
	plat, err := v1.ParsePlatform(p)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(512, 2)
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

// platformIndex returns an index of one image per platform; withPlatform
// controls whether the index descriptors carry the platform.
func platformIndex(t *testing.T, withPlatform bool, ps ...string) (v1.ImageIndex, map[string]v1.Image) {
	t.Helper()
	var idx v1.ImageIndex = empty.Index
	imgs := map[string]v1.Image{}
	for _, p := range ps {
		img := platformImage(t, p)
		imgs[p] = img
		add := mutate.IndexAddendum{Add: img}
		if withPlatform {
			plat, _ := v1.ParsePlatform(p)
			add.Descriptor = v1.Descriptor{Platform: plat}
		}
		idx = mutate.AppendManifests(idx, add)
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

func startRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func mustParse(t *testing.T, s string) Ref {
	t.Helper()
	r, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReadRegistryIndex(t *testing.T) {
	host := startRegistry(t)
	idx, imgs := platformIndex(t, true, "linux/amd64", "linux/arm64/v8")
	ref, err := name.ParseReference(host + "/app:multi")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	src, err := Read(ctx, mustParse(t, host+"/app:multi"))
	if err != nil {
		t.Fatal(err)
	}
	if src.Index == nil || src.Image != nil {
		t.Fatalf("Read of an index: Index=%v Image=%v", src.Index, src.Image)
	}
	if want := digest(t, idx); src.Digest != want {
		t.Errorf("Digest = %s, want %s", src.Digest, want)
	}
	if want := host + "/app:multi"; src.Name != want {
		t.Errorf("Name = %q, want %q", src.Name, want)
	}
	ps, err := src.Platforms()
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(ps); got != "[linux/amd64 linux/arm64/v8]" {
		t.Errorf("Platforms = %s", got)
	}

	// linux/arm64 names the same platform as linux/arm64/v8.
	for _, p := range []string{"linux/amd64", "linux/arm64", "linux/arm64/v8"} {
		plat, _ := v1.ParsePlatform(p)
		img, err := src.ForPlatform(*plat)
		if err != nil {
			t.Fatalf("ForPlatform(%s): %v", p, err)
		}
		wantKey := p
		if strings.HasPrefix(p, "linux/arm64") {
			wantKey = "linux/arm64/v8"
		}
		if got, want := digest(t, img), digest(t, imgs[wantKey]); got != want {
			t.Errorf("ForPlatform(%s) = %s, want %s", p, got, want)
		}
	}

	_, err = src.ForPlatform(v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"})
	if err == nil {
		t.Fatal("ForPlatform(linux/arm/v7): no error")
	}
	for _, want := range []string{host + "/app:multi", "linux/arm/v7", "linux/amd64, linux/arm64/v8"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	// By digest, the tag is gone and the name is the repository.
	byDigest, err := Read(ctx, mustParse(t, host+"/app@"+src.Digest.String()))
	if err != nil {
		t.Fatal(err)
	}
	if byDigest.Digest != src.Digest || byDigest.Name != host+"/app" {
		t.Errorf("by digest: %s %q", byDigest.Digest, byDigest.Name)
	}
}

func TestReadRegistryImage(t *testing.T) {
	host := startRegistry(t)
	img := platformImage(t, "linux/arm/v7")
	ref, _ := name.ParseReference(host + "/one:v1")
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	src, err := Read(context.Background(), mustParse(t, "docker://"+host+"/one:v1"))
	if err != nil {
		t.Fatal(err)
	}
	if src.Image == nil || src.Index != nil || src.Digest != digest(t, img) {
		t.Fatalf("Read of an image: %+v", src)
	}
	// linux/arm means linux/arm/v7.
	got, err := src.ForPlatform(v1.Platform{OS: "linux", Architecture: "arm"})
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, got) != digest(t, img) {
		t.Error("ForPlatform returned another image")
	}
	if _, err := src.ForPlatform(v1.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}); err == nil ||
		!strings.Contains(err.Error(), "it has: linux/arm/v7") {
		t.Errorf("ForPlatform(linux/arm/v6) = %v", err)
	}

	_, err = Read(context.Background(), mustParse(t, host+"/one:missing"))
	if err == nil || !strings.Contains(err.Error(), host+"/one:missing") {
		t.Errorf("Read of a missing tag = %v, want an error naming it", err)
	}
}

func TestIndexWithoutPlatforms(t *testing.T) {
	// Descriptors without a platform field fall back to the image config.
	idx, imgs := platformIndex(t, false, "linux/amd64", "linux/arm64")
	src := &Source{Ref: mustParse(t, "oci:x"), Index: idx}
	ps, err := src.Platforms()
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(ps); got != "[linux/amd64 linux/arm64]" {
		t.Errorf("Platforms = %s", got)
	}
	img, err := src.ForPlatform(v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"})
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, img) != digest(t, imgs["linux/arm64"]) {
		t.Error("wrong image")
	}
}

func TestIndexSkipsAttestations(t *testing.T) {
	idx, _ := platformIndex(t, true, "linux/amd64", "unknown/unknown")
	src := &Source{Ref: mustParse(t, "oci:x"), Index: idx}
	ps, err := src.Platforms()
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(ps); got != "[linux/amd64]" {
		t.Errorf("Platforms = %s", got)
	}
}

func TestReadLayout(t *testing.T) {
	dir := t.TempDir()
	img := platformImage(t, "linux/amd64")
	idx, _ := platformIndex(t, true, "linux/amd64", "linux/arm64")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{refNameKey: "v1"})); err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{refNameKey: "multi"})); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	src, err := Read(ctx, mustParse(t, "oci:"+dir+":v1"))
	if err != nil {
		t.Fatal(err)
	}
	if src.Image == nil || src.Digest != digest(t, img) || src.Name != "oci:"+dir+":v1" {
		t.Errorf("oci:DIR:v1 = %+v", src)
	}
	src, err = Read(ctx, mustParse(t, "oci:"+dir+":multi"))
	if err != nil {
		t.Fatal(err)
	}
	if src.Index == nil || src.Digest != digest(t, idx) {
		t.Errorf("oci:DIR:multi = %+v", src)
	}
	if _, err := src.ForPlatform(v1.Platform{OS: "linux", Architecture: "arm64"}); err != nil {
		t.Error(err)
	}

	for ref, want := range map[string]string{
		"oci:" + dir:                     "holds 2 manifests, name one with oci:DIR:TAG (tags: multi, v1)",
		"oci:" + dir + ":nope":           `tag "nope" is not in the layout (tags: multi, v1)`,
		"oci:" + filepath.Join(dir, "x"): "no such file",
	} {
		_, err := Read(ctx, mustParse(t, ref))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), ref) {
			t.Errorf("Read(%s) = %v, want an error naming it and containing %q", ref, err, want)
		}
	}

	// One untagged manifest needs no tag.
	single := t.TempDir()
	if _, err := layout.Write(single, mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: idx})); err != nil {
		t.Fatal(err)
	}
	src, err = Read(ctx, mustParse(t, "oci:"+single))
	if err != nil {
		t.Fatal(err)
	}
	if src.Index == nil || src.Digest != digest(t, idx) {
		t.Errorf("single-manifest layout = %+v", src)
	}
}

func TestReadArchive(t *testing.T) {
	dir := t.TempDir()
	a, b := platformImage(t, "linux/amd64"), platformImage(t, "linux/arm64")
	file := filepath.Join(dir, "img.tar")
	ta, _ := name.NewTag("acme/a:1")
	tb, _ := name.NewTag("acme/b:1")
	if err := tarball.MultiWriteToFile(file, map[name.Tag]v1.Image{ta: a, tb: b}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src, err := Read(ctx, mustParse(t, "docker-archive:"+file+":acme/b:1"))
	if err != nil {
		t.Fatal(err)
	}
	gotCfg, _ := src.Image.ConfigName()
	wantCfg, _ := b.ConfigName()
	if gotCfg != wantCfg || src.Digest != digest(t, src.Image) {
		t.Errorf("docker-archive read config %s digest %s, want config %s", gotCfg, src.Digest, wantCfg)
	}
	if _, err := Read(ctx, mustParse(t, "docker-archive:"+file)); err == nil {
		t.Error("an archive of two images read without naming one: no error")
	}
	if _, err := Read(ctx, mustParse(t, "docker-archive:"+filepath.Join(dir, "missing.tar"))); err == nil ||
		!strings.Contains(err.Error(), "missing.tar") {
		t.Errorf("missing archive: %v", err)
	}
}

func TestReadDeb(t *testing.T) {
	_, err := Read(context.Background(), mustParse(t, "deb:bookworm"))
	if err == nil || !strings.Contains(err.Error(), "deb: bases are not supported yet") {
		t.Errorf("Read(deb:bookworm) = %v", err)
	}
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

func TestReadDaemon(t *testing.T) {
	requireDocker(t)
	img := platformImage(t, "linux/amd64")
	tag := fmt.Sprintf("kiln-test/imageref:%d", os.Getpid())
	file := filepath.Join(t.TempDir(), "img.tar")
	nt, _ := name.NewTag(tag)
	if err := tarball.WriteToFile(file, nt, img); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("docker", "load", "-i", file).CombinedOutput(); err != nil {
		t.Fatalf("docker load: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("docker", "rmi", "-f", tag).CombinedOutput(); err != nil {
			t.Errorf("docker rmi: %v\n%s", err, out)
		}
	})
	src, err := Read(context.Background(), mustParse(t, "docker-daemon:"+tag))
	if err != nil {
		t.Fatal(err)
	}
	gotCfg, _ := src.Image.ConfigName()
	wantCfg, _ := img.ConfigName()
	if gotCfg != wantCfg {
		t.Errorf("daemon image config %s, want %s", gotCfg, wantCfg)
	}
	if src.Digest != digest(t, src.Image) {
		t.Errorf("Digest %s is not the image's", src.Digest)
	}

	_, err = Read(context.Background(), mustParse(t, "docker-daemon:kiln-test/absent:nope"))
	if err == nil || !strings.Contains(err.Error(), "kiln-test/absent:nope") {
		t.Errorf("missing daemon image: %v", err)
	}
}
