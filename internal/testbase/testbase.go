// Package testbase gives tests a real Python base image without a registry:
// Debian bookworm with its python3 (3.11), built with debootstrap from
// Debian's archive and cached on disk, as an OCI image layout with a
// linux/amd64 and a linux/arm64 image.
//
// The amd64 image is a complete debootstrap and runs in Docker. The arm64
// image is built without emulation: debootstrap --foreign unpacks the
// essential packages, and the Python packages are unpacked beside them, with
// no maintainer script run. It holds the real aarch64 interpreter, standard
// library, glibc and dpkg database, so it is fit for inspection and for
// building images on, but it is not runnable here.
//
// The first build needs root, debootstrap, dpkg-deb, GNU tar and the Debian
// archive; it takes about a minute or two, and later calls reuse the cache
// under $KILN_TEST_CACHE (default ~/.cache/kiln-test). Pre-build it with
// `go run ./internal/testbase/cmd/mkbase`.
package testbase

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/kiln-build/kiln/internal/testcache"
)

const (
	// Tag is the org.opencontainers.image.ref.name of the index in the layout.
	Tag = "bookworm"
	// DockerTag is the name the amd64 image carries in the docker archive.
	DockerTag = "kiln-test/python:bookworm"

	// recipe names the cached artifacts; change it whenever the build changes
	// so that stale caches are rebuilt, not reused.
	recipe = "bookworm-python3-v1"

	suite         = "bookworm"
	defaultMirror = "http://deb.debian.org/debian"
)

// Mirror is the Debian archive debootstrap uses: $KILN_TEST_DEBIAN_MIRROR, or
// deb.debian.org.
func Mirror() string {
	if m := os.Getenv("KILN_TEST_DEBIAN_MIRROR"); m != "" {
		return m
	}
	return defaultMirror
}

func layoutPath() string  { return filepath.Join(testcache.Dir(), recipe) }
func archivePath() string { return filepath.Join(testcache.Dir(), recipe+"-amd64.docker.tar") }

// Require skips t when the base cannot be had here: not cached, and not
// buildable (not root, no debootstrap, no network). With CI=true it fails
// instead, with the reason, so a CI that lost its prerequisites is noticed.
func Require(t testing.TB) {
	t.Helper()
	reason := unavailable()
	if reason == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("testbase: %s (CI=true: this is a failure, not a skip)", reason)
	}
	t.Skipf("testbase: %s", reason)
}

func unavailable() string {
	if exists(layoutPath()) {
		return ""
	}
	if os.Geteuid() != 0 {
		return "the base image is not cached in " + testcache.Dir() + " and building it (debootstrap) needs root"
	}
	for _, tool := range []string{"debootstrap", "dpkg-deb", "tar", "chroot"} {
		if _, err := lookPath(tool); err != nil {
			return fmt.Sprintf("the base image is not cached in %s and %s is not installed", testcache.Dir(), tool)
		}
	}
	u, err := url.Parse(Mirror())
	if err != nil || u.Host == "" {
		return fmt.Sprintf("bad Debian mirror %q", Mirror())
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort(u.Hostname(), port), 5*time.Second)
	if err != nil {
		return fmt.Sprintf("the base image is not cached in %s and the Debian archive is unreachable: %v", testcache.Dir(), err)
	}
	c.Close()
	return ""
}

// lookPath finds tools in the sbin directories too, which a non-login root
// shell may lack from PATH.
func lookPath(tool string) (string, error) {
	if p, err := exec.LookPath(tool); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin"} {
		p := filepath.Join(d, tool)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", tool)
}

var (
	mu        sync.Mutex
	built     = map[string]string{}
	buildErrs = map[string]error{}
)

// once runs f at most once per process for key, remembering its result, so
// that the many tests of one binary share one lock-and-check.
func once(key string, f func() (string, error)) (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[key]; ok {
		return p, nil
	}
	if err, ok := buildErrs[key]; ok {
		return "", err
	}
	p, err := f()
	if err != nil {
		buildErrs[key] = err
		return "", err
	}
	built[key] = p
	return p, nil
}

// Layout returns the path of an OCI image layout holding one index, tagged
// Tag, of a linux/amd64 and a linux/arm64 bookworm python3 image. It builds
// the cache on first use.
func Layout(t testing.TB) string {
	t.Helper()
	Require(t)
	p, err := once("layout", func() (string, error) {
		if !exists(layoutPath()) {
			t.Logf("testbase: building the bookworm base into %s (a minute or two, once)", layoutPath())
		}
		return BuildLayout(io.Discard)
	})
	if err != nil {
		t.Fatalf("testbase: %v", err)
	}
	return p
}

// DockerArchive returns a `docker save`-style tarball of the amd64 image,
// named DockerTag, for `docker load`.
func DockerArchive(t testing.TB) string {
	t.Helper()
	Layout(t)
	p, err := once("archive", func() (string, error) { return BuildDockerArchive(io.Discard) })
	if err != nil {
		t.Fatalf("testbase: %v", err)
	}
	return p
}

// Image returns the image of the layout for arch ("amd64" or "arm64").
func Image(t testing.TB, arch string) v1.Image {
	t.Helper()
	img, err := imageFor(Layout(t), arch)
	if err != nil {
		t.Fatalf("testbase: %v", err)
	}
	return img
}

// BuildLayout returns the cached layout, building it first if needed, with
// the build's progress written to log. It is safe to call from several
// processes at once.
func BuildLayout(log io.Writer) (string, error) {
	return testcache.Ensure(testcache.Dir(), recipe, func(tmp, out string) error {
		return buildLayout(tmp, out, log)
	})
}

// BuildDockerArchive returns the cached docker archive of the amd64 image,
// building it (and the layout) first if needed.
func BuildDockerArchive(log io.Writer) (string, error) {
	lp, err := BuildLayout(log)
	if err != nil {
		return "", err
	}
	return testcache.Ensure(testcache.Dir(), filepath.Base(archivePath()), func(tmp, out string) error {
		img, err := imageFor(lp, "amd64")
		if err != nil {
			return err
		}
		tag, err := name.NewTag(DockerTag)
		if err != nil {
			return err
		}
		start := time.Now()
		if err := tarball.WriteToFile(out, tag, img); err != nil {
			return fmt.Errorf("writing docker archive: %w", err)
		}
		fmt.Fprintf(log, "docker archive written in %s\n", time.Since(start).Round(time.Millisecond))
		return nil
	})
}

// imageFor finds the Tag index in the layout at dir and its image for arch.
func imageFor(dir, arch string) (v1.Image, error) {
	root, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("layout %s: %w", dir, err)
	}
	im, err := root.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("layout %s: %w", dir, err)
	}
	for _, d := range im.Manifests {
		if d.Annotations[refName] != Tag {
			continue
		}
		idx, err := root.ImageIndex(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("layout %s: index %s: %w", dir, d.Digest, err)
		}
		m, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("layout %s: index %s: %w", dir, d.Digest, err)
		}
		for _, md := range m.Manifests {
			if md.Platform != nil && md.Platform.OS == "linux" && md.Platform.Architecture == arch {
				return idx.Image(md.Digest)
			}
		}
		return nil, fmt.Errorf("layout %s: no linux/%s image in %s", dir, arch, d.Digest)
	}
	return nil, fmt.Errorf("layout %s: no index tagged %s", dir, Tag)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
