package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// result is one build of one scenario by one tool.
type result struct {
	Service  string `json:"service"`
	Tool     string `json:"tool"`
	Scenario string `json:"scenario"`
	Run      int    `json:"run"`

	WallSeconds float64 `json:"wall_seconds"`
	CPUSeconds  float64 `json:"cpu_seconds"`
	PeakMem     int64   `json:"peak_mem_bytes"`
	OwnRSS      int64   `json:"own_rss_bytes,omitempty"`

	ImageBytes int64 `json:"image_bytes"` // as `docker image inspect` reports it
	Layers     int   `json:"layers"`
	// ChangedLayers and ChangedBytes count the layers (compressed, as
	// pushed) not in the previous image of the same tool: for a cold build,
	// the previous cold build's. -1: nothing to compare with.
	ChangedLayers int    `json:"changed_layers"`
	ChangedBytes  int64  `json:"changed_bytes"`
	PushedBytes   int64  `json:"pushed_bytes"`
	Digest        string `json:"digest"`
	Healthy       bool   `json:"healthy"`
}

// scenarios run in this order, each from the state the previous left.
var scenarios = []string{"cold", "no-change", "source-only", "dependency", "version-bump"}

var tools = []string{"kiln", "docker"}

// modules are the files a source-only change edits.
var modules = map[string]string{
	"django-service": "src/benchsite/views.py",
	"asgi-service":   "src/asgi_service/main.py",
}

type bench struct {
	cfg       config
	reg       *countingRegistry
	work      string
	kilnCache string
}

type layerSet map[string]int64 // digest -> compressed size

// service runs every scenario of svc, -runs times per tool, alternating
// which tool goes first.
func (b *bench) service(ctx context.Context, svc *service) ([]result, error) {
	if err := b.lockDebian(svc); err != nil {
		return nil, err
	}
	var out []result
	prevCold := map[string]layerSet{}
	for run := 1; run <= b.cfg.runs; run++ {
		order := tools
		if run%2 == 0 {
			order = []string{tools[1], tools[0]}
		}
		for _, tool := range order {
			if err := b.fresh(svc, tool, run); err != nil {
				return out, err
			}
			var prev layerSet
			for _, sc := range scenarios {
				if ctx.Err() != nil {
					return out, ctx.Err()
				}
				if err := b.change(svc, tool, sc); err != nil {
					return out, fmt.Errorf("%s %s: %w", tool, sc, err)
				}
				r, layers, err := b.measureBuild(ctx, svc, tool, sc, run)
				if err != nil {
					return out, fmt.Errorf("%s %s run %d: %w", tool, sc, run, err)
				}
				compareWith := prev
				if sc == "cold" {
					compareWith = prevCold[tool]
					prevCold[tool] = layers
				}
				r.ChangedLayers, r.ChangedBytes = -1, 0
				if compareWith != nil {
					r.ChangedLayers = 0
					for d, size := range layers {
						if _, ok := compareWith[d]; !ok {
							r.ChangedLayers++
							r.ChangedBytes += size
						}
					}
				}
				prev = layers
				fmt.Fprintf(os.Stderr, "bench: %s %-6s %-12s run %d: %6.2fs wall, %6.2fs cpu, %d changed layers, %s pushed\n",
					svc.name, tool, sc, run, r.WallSeconds, r.CPUSeconds, r.ChangedLayers, mib(r.PushedBytes))
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// fresh starts a tool's chain of scenarios from a new working copy.
func (b *bench) fresh(svc *service, tool string, run int) error {
	svc.dir = filepath.Join(b.work, fmt.Sprintf("%s-%s-%d", svc.name, tool, run))
	svc.module = modules[svc.name]
	svc.useNew, svc.version, svc.edits = false, 0, 0
	if err := copyTree(filepath.Join("bench", "services", svc.name), svc.dir); err != nil {
		return err
	}
	if svc.kilnLock != nil {
		if err := os.WriteFile(filepath.Join(svc.dir, "kiln.lock"), svc.kilnLock, 0o644); err != nil {
			return err
		}
	}
	return svc.lock()
}

// lockDebian runs `kiln lock` once, untimed, so that every working copy
// starts with the kiln.lock a team commits next to uv.lock: a cold build
// then fetches the pinned .debs without reading the archive's indexes.
func (b *bench) lockDebian(svc *service) error {
	svc.kilnLock = nil
	if err := b.fresh(svc, "lock", 0); err != nil {
		return err
	}
	cache, err := os.MkdirTemp(b.work, "kiln-lock-cache-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(cache)
	cmd := exec.Command(b.cfg.kiln, "lock", svc.dir, "--base", "oci:"+b.cfg.baseLayout+":bookworm", "--platform", "linux/amd64")
	cmd.Env = append(os.Environ(), "KILN_CACHE="+cache)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("kiln lock: %v\n%s", err, out)
	}
	svc.kilnLock, err = os.ReadFile(filepath.Join(svc.dir, "kiln.lock"))
	return err
}

// change applies a scenario's change; cold also empties every cache.
func (b *bench) change(svc *service, tool, scenario string) error {
	switch scenario {
	case "cold":
		b.reg.Reset()
		return b.clean(svc, tool)
	case "source-only":
		return svc.editSource()
	case "dependency":
		return svc.swapDependency()
	case "version-bump":
		return svc.bumpVersion()
	}
	return nil
}

func (b *bench) engineTag(svc *service, tool string) string {
	return "kiln-bench/" + svc.name + "-" + tool + ":latest"
}

func (b *bench) registryRef(svc *service, tool string) string {
	return b.reg.addr + "/bench/" + svc.name + "-" + tool + ":latest"
}

// clean empties the tool's caches: kiln's cache directory; docker's
// build cache. Both start without any image an earlier build left in the
// engine, dangling ones included (kiln skips loading an image the engine
// already has, which an earlier run's identical build would otherwise give
// it). The base images stay, as they would on a CI runner with them pulled.
func (b *bench) clean(svc *service, tool string) error {
	if err := b.removeImages(); err != nil {
		return err
	}
	if out, err := exec.Command("docker", "image", "prune", "-f").CombinedOutput(); err != nil {
		return fmt.Errorf("docker image prune: %v\n%s", err, out)
	}
	switch tool {
	case "kiln":
		if b.kilnCache != "" {
			os.RemoveAll(b.kilnCache)
		}
		dir, err := os.MkdirTemp(b.work, "kiln-cache-")
		if err != nil {
			return err
		}
		b.kilnCache = dir
	case "docker":
		exec.Command("docker", "builder", "prune", "-af").Run()
	}
	return nil
}

// removeImages removes every image the benchmark built, of any service and
// tool: the classic builder would otherwise find one service's first build
// steps cached by another's.
func (b *bench) removeImages() error {
	out, err := exec.Command("docker", "images", "--format", "{{.Repository}}:{{.Tag}}").Output()
	if err != nil {
		return fmt.Errorf("docker images: %w", err)
	}
	var names []string
	for _, n := range strings.Fields(string(out)) {
		if n == builderBase || n == runtimeBase || strings.Contains(n, "<none>") {
			continue // untagged ones go with their tags, or with docker image prune
		}
		if strings.HasPrefix(n, "kiln-bench/") || strings.HasPrefix(n, b.reg.addr+"/") {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil
	}
	if out, err := exec.Command("docker", append([]string{"rmi", "-f"}, names...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("docker rmi: %v\n%s", err, out)
	}
	return nil
}

func (b *bench) kilnCmd(svc *service, output string) *exec.Cmd {
	cmd := exec.Command(b.cfg.kiln, "build", svc.dir, "--base", "oci:"+b.cfg.baseLayout+":bookworm",
		"--platform", "linux/amd64", "--output", output)
	cmd.Env = append(os.Environ(), "KILN_CACHE="+b.kilnCache)
	return cmd
}

// measureBuild runs the timed build, then (untimed) pushes the image to
// the registry and reads what changed.
func (b *bench) measureBuild(ctx context.Context, svc *service, tool, scenario string, run int) (result, layerSet, error) {
	r := result{Service: svc.name, Tool: tool, Scenario: scenario, Run: run}
	tag := b.engineTag(svc, tool)
	var cmd *exec.Cmd
	switch tool {
	case "kiln":
		cmd = b.kilnCmd(svc, "docker-daemon:"+tag)
	case "docker":
		cmd = exec.Command("docker", "build", "--network", "host", "--build-arg", "INDEX_URL="+svc.indexURL, "-t", tag, svc.dir)
	}
	u, out, err := measure(cmd)
	if err != nil {
		return r, nil, fmt.Errorf("%w\n%s", err, lastLines(out, 30))
	}
	r.WallSeconds, r.CPUSeconds, r.PeakMem = u.Wall.Seconds(), u.CPU.Seconds(), u.PeakMem
	if tool == "kiln" {
		r.OwnRSS = u.OwnRSS
	}
	size, err := exec.Command("docker", "image", "inspect", "-f", "{{.Size}}", tag).Output()
	if err != nil {
		return r, nil, fmt.Errorf("docker image inspect %s: %w", tag, err)
	}
	r.ImageBytes, _ = strconv.ParseInt(strings.TrimSpace(string(size)), 10, 64)

	ref := b.registryRef(svc, tool)
	b.reg.Pushed()
	switch tool {
	case "kiln":
		if out, err := b.kilnCmd(svc, ref).CombinedOutput(); err != nil {
			return r, nil, fmt.Errorf("kiln push: %v\n%s", err, out)
		}
	case "docker":
		if out, err := exec.Command("docker", "tag", tag, ref).CombinedOutput(); err != nil {
			return r, nil, fmt.Errorf("docker tag: %v\n%s", err, out)
		}
		if out, err := exec.Command("docker", "push", ref).CombinedOutput(); err != nil {
			return r, nil, fmt.Errorf("docker push: %v\n%s", err, out)
		}
	}
	r.PushedBytes = b.reg.Pushed()
	layers, digest, err := readManifest(ctx, ref)
	if err != nil {
		return r, nil, err
	}
	r.Layers, r.Digest = len(layers), digest
	if scenario == "version-bump" {
		// Last of the chain: the image must also work.
		r.Healthy = healthy(tag, svc.name) == nil
	}
	return r, layers, nil
}

func readManifest(ctx context.Context, ref string) (layerSet, string, error) {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return nil, "", err
	}
	img, err := remote.Image(r, remote.WithContext(ctx))
	if err != nil {
		return nil, "", fmt.Errorf("reading %s back: %w", ref, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, "", err
	}
	d, err := img.Digest()
	if err != nil {
		return nil, "", err
	}
	layers := layerSet{}
	for _, l := range m.Layers {
		layers[l.Digest.String()] = l.Size
	}
	return layers, d.String(), nil
}

// healthy runs the image and waits for its health path to answer 200.
func healthy(tag, svc string) error {
	path := map[string]string{"django-service": "/health/", "asgi-service": "/health"}[svc]
	name := "kiln-bench-health-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	defer exec.Command("docker", "rm", "-f", name).Run()
	if out, err := exec.Command("docker", "run", "-d", "--name", name, "-p", "127.0.0.1::8000", tag).CombinedOutput(); err != nil {
		return fmt.Errorf("docker run: %v\n%s", err, out)
	}
	port, err := exec.Command("docker", "port", name, "8000/tcp").Output()
	if err != nil {
		return err
	}
	hostPort := strings.TrimSpace(strings.Split(string(port), "\n")[0])
	hostPort = hostPort[strings.LastIndex(hostPort, ":")+1:]
	return waitHTTP("http://127.0.0.1:"+hostPort+path, 60*time.Second)
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// copyTree copies a service's files into its working copy.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if d.Name() == "__pycache__" || d.Name() == ".venv" {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}
