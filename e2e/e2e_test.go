// Package e2e runs the kiln binary end to end: real wheels served by a local
// index, a real Debian Python base, and the real Docker engine running what
// kiln built.
package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiln-build/kiln/internal/testbase"
	"github.com/kiln-build/kiln/internal/testindex"
	"github.com/kiln-build/kiln/internal/testwheels"
)

var kilnBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kiln-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	kilnBin = filepath.Join(dir, "kiln")
	build := exec.Command("go", "build", "-o", kilnBin, "../cmd/kiln")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building kiln:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// requireDocker skips without an engine, except in CI where that is a failure.
func requireDocker(t *testing.T) {
	t.Helper()
	if err := exec.Command("docker", "info").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the Docker engine is not reachable and CI=true: %v", err)
		}
		t.Skipf("no Docker engine: %v", err)
	}
}

// fixture is one copy of the example service with its own lock, index and cache.
type fixture struct {
	dir    string // project directory
	base   string // base image reference
	index  *testindex.Server
	wheels string
	cache  string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	layout := testbase.Layout(t)
	wheels := testwheels.Wheelhouse(t)
	f := &fixture{
		dir:    filepath.Join(t.TempDir(), "flask-service"),
		base:   "oci:" + layout + ":bookworm",
		wheels: wheels,
		cache:  t.TempDir(),
	}
	copyTree(t, "../examples/flask-service", f.dir)
	f.index = startIndex(t, wheels)
	f.writeLock(t)
	return f
}

func (f *fixture) writeLock(t *testing.T) {
	t.Helper()
	root, err := testindex.ReadRootSpec(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := testindex.WriteUVLock(f.dir, f.index.URL(), f.wheels, root); err != nil {
		t.Fatal(err)
	}
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if rel == "uv.lock" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, _ := d.Info()
		return os.WriteFile(target, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

type kilnRun struct {
	code           int
	stdout, stderr string
}

// kiln runs the binary with the fixture's cache.
func (f *fixture) kiln(t *testing.T, env []string, args ...string) kilnRun {
	t.Helper()
	cmd := exec.Command(kilnBin, args...)
	cmd.Env = append(os.Environ(), "KILN_CACHE="+f.cache)
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := kilnRun{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

func (f *fixture) mustBuild(t *testing.T, args ...string) buildResult {
	t.Helper()
	r := f.kiln(t, nil, append([]string{"build", f.dir, "--base", f.base, "--json"}, args...)...)
	if r.code != 0 {
		t.Fatalf("kiln build exited %d\nstderr:\n%s", r.code, r.stderr)
	}
	var res buildResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("kiln build --json: %v\n%s", err, r.stdout)
	}
	return res
}

type buildResult struct {
	Digest    string `json:"digest"`
	Platforms []struct {
		Platform string `json:"platform"`
		Digest   string `json:"digest"`
		Layers   []struct {
			Name   string `json:"name"`
			Digest string `json:"digest"`
			Size   int64  `json:"size"`
			Cached bool   `json:"cached"`
		} `json:"layers"`
	} `json:"platforms"`
}

func (r buildResult) layer(t *testing.T, platform, name string) (digest string, cached bool) {
	t.Helper()
	for _, p := range r.Platforms {
		if p.Platform != platform {
			continue
		}
		for _, l := range p.Layers {
			if l.Name == name {
				return l.Digest, l.Cached
			}
		}
	}
	t.Fatalf("no %s layer for %s in %+v", name, platform, r)
	return "", false
}

func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// waitHTTP polls url until it answers 200 or the timeout passes.
func waitHTTP(url string, timeout time.Duration) (int, string, error) {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	var lastErr error
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return resp.StatusCode, string(body), nil
			}
			lastErr = fmt.Errorf("status %s: %s", resp.Status, body)
		} else {
			lastErr = err
		}
		time.Sleep(300 * time.Millisecond)
	}
	return 0, "", lastErr
}

func startIndex(t *testing.T, dir string) *testindex.Server { return testindex.Start(t, dir) }
