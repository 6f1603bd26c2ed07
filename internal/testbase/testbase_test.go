package testbase

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestLayout(t *testing.T) {
	dir := Layout(t)
	root, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := root.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Annotations[refName] != Tag || !im.Manifests[0].MediaType.IsIndex() {
		t.Fatalf("index.json: want one index tagged %s, got %+v", Tag, im.Manifests)
	}
	idx, err := root.ImageIndex(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var archs []string
	for _, d := range m.Manifests {
		archs = append(archs, d.Platform.OS+"/"+d.Platform.Architecture)
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Architecture != d.Platform.Architecture || cfg.OS != "linux" ||
			strings.Join(cfg.Config.Cmd, " ") != "python3" || len(cfg.Config.Env) == 0 {
			t.Errorf("%s: config %+v", d.Platform, cfg)
		}
		layers, err := img.Layers()
		if err != nil || len(layers) != 1 {
			t.Fatalf("%s: %d layers, %v", d.Platform, len(layers), err)
		}
		size, _ := layers[0].Size()
		t.Logf("%s: %s, layer %d bytes", d.Platform, d.Digest, size)
	}
	if strings.Join(archs, ",") != "linux/amd64,linux/arm64" {
		t.Errorf("platforms %v", archs)
	}
}

func TestDockerArchive(t *testing.T) {
	p := DockerArchive(t)
	img, err := tarball.ImageFromPath(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Architecture != "amd64" {
		t.Errorf("architecture %s", cfg.Architecture)
	}
}

// The amd64 base is a complete debootstrap: the engine runs its python3.
func TestDockerRuns(t *testing.T) {
	p := DockerArchive(t)
	if err := exec.Command("docker", "info").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("docker: %v", err)
		}
		t.Skipf("no Docker engine: %v", err)
	}
	if out, err := exec.Command("docker", "load", "-i", p).CombinedOutput(); err != nil {
		t.Fatalf("docker load: %v: %s", err, out)
	}
	out, err := exec.Command("docker", "run", "--rm", "--network=none", DockerTag,
		"python3", "-c", "import ssl, sqlite3, sys; print(sys.version_info[:2])").CombinedOutput()
	if err != nil {
		t.Fatalf("docker run: %v: %s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "(3, 11)" {
		t.Errorf("python3 in the image printed %q", got)
	}
}
