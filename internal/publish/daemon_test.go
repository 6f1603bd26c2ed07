package publish

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// engineImageID returns the image ID the engine has for tag, or "" if none.
func engineImageID(t *testing.T, tag string) string {
	t.Helper()
	out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", tag).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func removeOnCleanup(t *testing.T, tags ...string) {
	t.Cleanup(func() {
		for _, tag := range tags {
			if engineImageID(t, tag) == "" {
				continue
			}
			if out, err := exec.Command("docker", "rmi", "-f", tag).CombinedOutput(); err != nil {
				t.Errorf("docker rmi %s: %v\n%s", tag, err, out)
			}
		}
	})
}

func engineArch(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("docker", "version", "--format", "{{.Server.Arch}}").Output()
	if err != nil {
		t.Fatalf("docker version: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func TestDaemonRoundTrip(t *testing.T) {
	requireDocker(t)
	ctx := context.Background()
	tag := fmt.Sprintf("kiln-test/publish:%d-image", os.Getpid())
	removeOnCleanup(t, tag)

	img := platformImage(t, "linux/"+engineArch(t))
	res, err := publisher(t, "docker-daemon:"+tag).Publish(ctx, Artifact{Image: img})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ref != "docker-daemon:"+tag || res.Digest != digest(t, img) {
		t.Errorf("Result = %+v", res)
	}
	if got, want := engineImageID(t, tag), configName(t, img).String(); got != want {
		t.Errorf("engine has %s as %q, want %q", tag, got, want)
	}
	if src := read(t, "docker-daemon:"+tag); configName(t, src.Image) != configName(t, img) {
		t.Error("reading the loaded image back gives another config")
	}
}

func TestDaemonIndexTakesEnginePlatform(t *testing.T) {
	requireDocker(t)
	ctx := context.Background()
	tag := fmt.Sprintf("kiln-test/publish:%d-index", os.Getpid())
	removeOnCleanup(t, tag)

	engine := "linux/" + engineArch(t)
	other := "linux/s390x"
	idx, imgs := platformIndex(t, other, engine)
	res, err := publisher(t, "docker-daemon:"+tag).Publish(ctx, Artifact{Index: idx})
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != digest(t, imgs[engine]) {
		t.Errorf("Digest = %s, want the %s image's", res.Digest, engine)
	}
	if got, want := engineImageID(t, tag), configName(t, imgs[engine]).String(); got != want {
		t.Errorf("engine has %s as %s, want the %s image %s", tag, got, engine, want)
	}

	// WithPlatform overrides the engine's platform, and replaces the tag.
	if _, err := publisher(t, "docker-daemon:"+tag, WithPlatform(v1.Platform{OS: "linux", Architecture: "s390x"})).
		Publish(ctx, Artifact{Index: idx}); err != nil {
		t.Fatal(err)
	}
	if got, want := engineImageID(t, tag), configName(t, imgs[other]).String(); got != want {
		t.Errorf("with WithPlatform(%s) the engine has %s, want %s", other, got, want)
	}
	// The first image lost its tag to the second; remove it too.
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", configName(t, imgs[engine]).String()).Run() })

	foreign, _ := platformIndex(t, "linux/s390x")
	missing := fmt.Sprintf("kiln-test/publish:%d-missing", os.Getpid())
	removeOnCleanup(t, missing)
	_, err = publisher(t, "docker-daemon:"+missing).Publish(ctx, Artifact{Index: foreign})
	if err == nil || !strings.Contains(err.Error(), "no image for platform "+engine) {
		t.Errorf("index without the engine's platform = %v", err)
	}
	if id := engineImageID(t, missing); id != "" {
		t.Errorf("a failed publish loaded %s as %s", id, missing)
	}
}
