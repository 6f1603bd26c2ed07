package e2e

import (
	"archive/tar"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func fnv1a(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

func uniqueName(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// TestExampleRunsInDocker is the main proof: the example service,
// built without a daemon into the engine, answers its health path as uid 1001
// with a working compiled extension, console scripts and project metadata.
func TestExampleRunsInDocker(t *testing.T) {
	requireDocker(t)
	f := newFixture(t)
	image := uniqueName("kiln-e2e-flask") + ":test"
	t.Cleanup(func() { run("docker", "rmi", "-f", image) })
	f.mustBuild(t, "--platform", "linux/amd64", "--output", "docker-daemon:"+image)

	container := uniqueName("kiln-e2e")
	t.Cleanup(func() { run("docker", "rm", "-f", container) })
	docker(t, "run", "-d", "--name", container, "-p", "127.0.0.1::8000", image)
	port := docker(t, "port", container, "8000/tcp")
	port = port[strings.LastIndex(port, ":")+1:]
	if _, body, err := waitHTTP("http://127.0.0.1:"+port+"/health", 60*time.Second); err != nil {
		t.Fatalf("health: %v\nlogs:\n%s", err, docker(t, "logs", container))
	} else if !strings.Contains(body, `"ok"`) {
		t.Fatalf("health body %q", body)
	}
	_, body, err := waitHTTP("http://127.0.0.1:"+port+"/", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprint(fnv1a("kiln")); !strings.Contains(body, want) {
		t.Errorf("GET / = %s; want the C extension's fnv1a %s", body, want)
	}
	if !strings.Contains(body, `"0.1.0"`) || !strings.Contains(body, "hello from kiln") {
		t.Errorf("GET / = %s; want version 0.1.0 and the configured greeting", body)
	}

	if uid := docker(t, "exec", container, "id", "-u"); uid != "1001" {
		t.Errorf("id -u = %s, want 1001", uid)
	}
	if out := docker(t, "exec", container, "kiln-demo-ext"); !strings.Contains(out, fmt.Sprintf("fnv1a(kiln)=%d", fnv1a("kiln"))) || !strings.Contains(out, "x86_64") {
		t.Errorf("kiln-demo-ext launcher printed %q", out)
	}
	if out := docker(t, "exec", container, "flask-service-info"); out != "flask-service 0.1.0" {
		t.Errorf("flask-service-info printed %q", out)
	}
	if out := docker(t, "exec", container, "python", "-c", `import importlib.metadata as m; print(m.version("flask-service"))`); out != "0.1.0" {
		t.Errorf("importlib.metadata.version = %q", out)
	}
	// Excluded by default and by .dockerignore; the dev group is never installed.
	for _, p := range []string{"/app/.env", "/app/tests", "/app/uv.lock.bak"} {
		if out, err := execOut("docker", "exec", container, "test", "-e", p); err == nil {
			t.Errorf("%s is in the image %s", p, out)
		}
	}
	if out, err := execOut("docker", "exec", container, "python", "-c", "import kiln_dev_tool"); err == nil {
		t.Errorf("the dev group's kiln_dev_tool is importable: %s", out)
	}
	// Neither the app nor the venv is writable by the runtime user.
	for _, p := range []string{"/app", "/app/src/flask_service/app.py", "/app/.venv/lib/python3.11/site-packages"} {
		if _, err := execOut("docker", "exec", container, "sh", "-c", "test -w "+p); err == nil {
			t.Errorf("%s is writable by the runtime user", p)
		}
	}
	cfg := docker(t, "inspect", "--format", "{{json .Config}}", image)
	for _, want := range []string{`"User":"1001:1001"`, `"WorkingDir":"/app"`, `"StopSignal":"SIGTERM"`, `"Healthcheck"`, `"8000/tcp"`, "gunicorn", "PYTHONUNBUFFERED=1", "VIRTUAL_ENV=/app/.venv"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("image config lacks %s: %s", want, cfg)
		}
	}
	version := docker(t, "exec", container, "cat", "/app/version.json")
	for _, want := range []string{`"lock_sha256"`, `"built_at": "1970-01-01T00:00:00Z"`, `"version": "0.1.0"`} {
		if !strings.Contains(version, want) {
			t.Errorf("version.json lacks %s:\n%s", want, version)
		}
	}
	// Graceful stop: gunicorn exits 0 on SIGTERM.
	docker(t, "stop", "-t", "20", container)
	if code := docker(t, "inspect", "--format", "{{.State.ExitCode}}", container); code != "0" {
		t.Errorf("exit code after SIGTERM %s", code)
	}
}

// TestMultiPlatformPush builds amd64 and arm64 on this amd64 machine, with no
// emulation, into a registry on loopback.
func TestMultiPlatformPush(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(registry.New(registry.Logger(nopLogger())))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	tag := host + "/acme/flask-service:1.0"
	res := f.mustBuild(t, "--platform", "linux/amd64,linux/arm64", "--tag", tag, "--push")

	ref, err := name.ParseReference(tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := idx.Digest()
	if d.String() != res.Digest {
		t.Fatalf("registry has %s, kiln reported %s", d, res.Digest)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 2 {
		t.Fatalf("%d manifests, want 2", len(im.Manifests))
	}
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	for _, desc := range im.Manifests {
		arch := desc.Platform.Architecture
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Architecture != arch || cf.Config.User != "1001:1001" {
			t.Errorf("%s: config architecture %s user %s", arch, cf.Architecture, cf.Config.User)
		}
		depsDigest, _ := res.layer(t, "linux/"+arch, "dependencies")
		h, _ := v1.NewHash(depsDigest)
		l, err := img.LayerByDigest(h)
		if err != nil {
			t.Fatalf("%s: dependencies layer %s not in the pushed image: %v", arch, depsDigest, err)
		}
		so, wheelTag := extensionOf(t, l)
		if so != want[arch] {
			t.Errorf("%s: kiln_demo_ext extension is built for %v, want %v", arch, so, want[arch])
		}
		if !strings.Contains(wheelTag, map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[arch]) {
			t.Errorf("%s: installed wheel tag %q", arch, wheelTag)
		}
	}
}

// extensionOf finds the compiled kiln_demo_ext module in a layer and returns
// its ELF machine and the Tag line of its WHEEL file.
func extensionOf(t *testing.T, l v1.Layer) (elf.Machine, string) {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var machine elf.Machine
	var tag string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.Contains(h.Name, "site-packages/kiln_demo_ext/") && strings.HasSuffix(h.Name, ".so"):
			data, _ := io.ReadAll(tr)
			ef, err := elf.NewFile(strings.NewReader(string(data)))
			if err != nil {
				t.Fatalf("%s: %v", h.Name, err)
			}
			machine = ef.Machine
		case strings.Contains(h.Name, "kiln_demo_ext-1.0.0.dist-info/WHEEL"):
			data, _ := io.ReadAll(tr)
			for _, line := range strings.Split(string(data), "\n") {
				if strings.HasPrefix(line, "Tag:") {
					tag = line
				}
			}
		}
	}
	return machine, tag
}

// TestReproducibleAndCached: two cold builds give the same digest; a
// source-only change or a version bump keeps the dependency layer, which a
// rebuild takes from the cache without reading a single wheel.
func TestReproducibleAndCached(t *testing.T) {
	f := newFixture(t)
	out1, out2 := t.TempDir(), t.TempDir()
	first := f.mustBuild(t, "--output", "oci:"+out1+":1")
	f.cache = t.TempDir() // cold again
	second := f.mustBuild(t, "--output", "oci:"+out2+":1")
	if first.Digest != second.Digest {
		t.Fatalf("two cold builds differ: %s and %s", first.Digest, second.Digest)
	}
	plat := first.Platforms[0].Platform
	deps, _ := first.layer(t, plat, "dependencies")
	app, _ := first.layer(t, plat, "application")

	// Source-only change: the wheels are deleted from the cache and the
	// index stops answering, so any attempt to read a wheel would fail.
	appendFile(t, filepath.Join(f.dir, "src/flask_service/app.py"), "\n# a source-only change\n")
	removeWheelBlobs(t, f)
	downloads := len(f.index.Downloads())
	f.index.Close()
	third := f.mustBuild(t)
	deps3, cached := third.layer(t, plat, "dependencies")
	app3, _ := third.layer(t, plat, "application")
	if deps3 != deps || !cached {
		t.Errorf("source change: dependencies layer %s (cached %v), was %s", deps3, cached, deps)
	}
	if app3 == app {
		t.Error("source change did not change the application layer")
	}
	if n := len(f.index.Downloads()); n != downloads {
		t.Errorf("rebuild downloaded %d files", n-downloads)
	}

	// A project version bump keeps the dependency layer too.
	replaceInFile(t, filepath.Join(f.dir, "pyproject.toml"), `version = "0.1.0"`, `version = "0.2.0"`)
	fourth := f.mustBuild(t)
	if deps4, _ := fourth.layer(t, plat, "dependencies"); deps4 != deps {
		t.Errorf("version bump changed the dependencies layer: %s, was %s", deps4, deps)
	}
}

func removeWheelBlobs(t *testing.T, f *fixture) {
	t.Helper()
	entries, err := os.ReadDir(f.wheels)
	if err != nil {
		t.Fatal(err)
	}
	removed := 0
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(f.wheels, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(f.cache, "blobs", "sha256", sha256hex(data))
		if os.Remove(p) == nil {
			removed++
		}
	}
	if removed == 0 {
		t.Fatal("no wheel was in the cache: the test would prove nothing")
	}
}

func appendFile(t *testing.T, p, s string) {
	t.Helper()
	fh, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// replaceInFile replaces the first old in the file with new, and fails if
// there is none: a test whose edit does nothing would prove nothing.
func replaceInFile(t *testing.T, p, old, new string) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(data), old, new, 1)
	if s == string(data) {
		t.Fatalf("no %q in %s", old, p)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
