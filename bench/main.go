// Command bench measures kiln against `docker build` of the equivalent
// multi-stage Dockerfile, on the services under bench/services, in one run
// on one machine. Run it with bench/run.sh, which makes its inputs first.
//
// Every scenario runs kiln and docker alternately, -runs times each, and the
// results go to bench/results as RESULTS.md, results.json and chart.png.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/kiln-build/kiln/internal/testindex"
)

func main() {
	var cfg config
	flag.IntVar(&cfg.runs, "runs", 3, "times each tool runs each scenario")
	flag.StringVar(&cfg.wheels, "wheels", "", "wheelhouse made by bench/wheels.sh (required)")
	flag.StringVar(&cfg.baseLayout, "base-layout", "", "OCI layout of the base image, tag bookworm (required)")
	flag.StringVar(&cfg.baseArchive, "base-archive", "", "the same base as a docker archive, for the engine (required)")
	flag.StringVar(&cfg.kiln, "kiln", "", "kiln binary (required)")
	flag.StringVar(&cfg.out, "out", "bench/results", "directory for RESULTS.md, results.json and chart.png")
	flag.StringVar(&cfg.services, "services", "django-service,asgi-service", "comma-separated services under bench/services")
	flag.StringVar(&cfg.indexAddr, "index", "127.0.0.1:3142", "address of the package index the locks point at")
	flag.Parse()
	if cfg.wheels == "" || cfg.baseLayout == "" || cfg.baseArchive == "" || cfg.kiln == "" {
		fmt.Fprintln(os.Stderr, "bench: -wheels, -base-layout, -base-archive and -kiln are required; run bench/run.sh")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type config struct {
	runs                            int
	wheels, baseLayout, baseArchive string
	kiln, out, services, indexAddr  string
}

// Names of the base images in the engine: the runtime base both tools
// build on, and the same with pip for the Dockerfile's build stage.
const (
	runtimeBase = "kiln-test/python:bookworm"
	builderBase = "kiln-bench/python-pip:bookworm"
)

func run(ctx context.Context, cfg config) error {
	if err := exec.Command("docker", "info").Run(); err != nil {
		return errors.New("the Docker engine is not reachable")
	}
	work, err := os.MkdirTemp("", "kiln-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	swaps, err := readSwaps(filepath.Join(cfg.wheels, "second-version.txt"))
	if err != nil {
		return err
	}
	oldWheels, newWheels, err := wheelSets(cfg.wheels, work, swaps)
	if err != nil {
		return err
	}
	go func() {
		if err := testindex.Serve(cfg.indexAddr, cfg.wheels); err != nil {
			fmt.Fprintln(os.Stderr, "bench: package index:", err)
			os.Exit(1)
		}
	}()
	indexURL := "http://" + cfg.indexAddr + "/simple"
	if err := waitHTTP(indexURL+"/", 10*time.Second); err != nil {
		return fmt.Errorf("package index on %s: %w", cfg.indexAddr, err)
	}
	reg, err := startRegistry()
	if err != nil {
		return err
	}
	defer reg.Close()
	if err := prepareEngine(cfg, work); err != nil {
		return err
	}

	var results []result
	for _, name := range strings.Split(cfg.services, ",") {
		svc := &service{name: name, indexURL: indexURL, oldWheels: oldWheels, newWheels: newWheels}
		b := &bench{cfg: cfg, reg: reg, work: work}
		rs, err := b.service(ctx, svc)
		results = append(results, rs...)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	m, err := describeMachine(cfg)
	if err != nil {
		return err
	}
	return writeReport(cfg.out, m, swaps, results)
}

// swapped is a dependency the "dependency changed" scenario moves between
// two versions; each service depends on one of them.
type swapped struct{ name, oldVersion, newVersion string }

// readSwaps reads lines of NAME OLDVERSION NEWVERSION.
func readSwaps(path string) ([]swapped, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []swapped
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("%s:%d: want NAME OLDVERSION NEWVERSION", path, i+1)
		}
		out = append(out, swapped{f[0], f[1], f[2]})
	}
	return out, nil
}

// prepareEngine loads the base and makes the builder base: the runtime
// base plus pip, installed from the pip wheel, as python:3.11-slim ships
// it. Neither is timed.
func prepareEngine(cfg config, work string) error {
	if out, err := exec.Command("docker", "load", "-i", cfg.baseArchive).CombinedOutput(); err != nil {
		return fmt.Errorf("docker load %s: %v\n%s", cfg.baseArchive, err, out)
	}
	pips, _ := filepath.Glob(filepath.Join(cfg.wheels, "pip-*.whl"))
	if len(pips) != 1 {
		return fmt.Errorf("%s: want one pip wheel, found %d", cfg.wheels, len(pips))
	}
	ctxDir := filepath.Join(work, "builder-base")
	if err := os.MkdirAll(ctxDir, 0o755); err != nil {
		return err
	}
	data, err := os.ReadFile(pips[0])
	if err != nil {
		return err
	}
	pip := filepath.Base(pips[0])
	if err := os.WriteFile(filepath.Join(ctxDir, pip), data, 0o644); err != nil {
		return err
	}
	dockerfile := fmt.Sprintf("FROM %s\nCOPY %s /tmp/\nRUN python3 /tmp/%s/pip install --no-index --break-system-packages /tmp/%s && rm /tmp/%s\n",
		runtimeBase, pip, pip, pip, pip)
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return err
	}
	if out, err := exec.Command("docker", "build", "-q", "-t", builderBase, ctxDir).CombinedOutput(); err != nil {
		return fmt.Errorf("building %s: %v\n%s", builderBase, err, out)
	}
	return nil
}

// waitHTTP waits until url answers 200.
func waitHTTP(url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
