package verify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// RunConfig says how to exercise an image in a container engine.
type RunConfig struct {
	Engine      string        // "docker" (default) or "podman": the CLI to drive
	HealthPath  string        // e.g. "/health"; "" skips the health check
	Port        int           // container port the service listens on
	RequiredEnv []string      // variables the service must refuse to start without
	Commands    []string      // shell commands that must exit 0 in the running container, e.g. "nginx -t"
	Grace       time.Duration // SIGTERM grace period, default 30s
	Timeout     time.Duration // how long to wait for health, default 60s
}

// Run starts image (a name the engine knows) and checks its behaviour: it
// answers its health path, its main process is not root, it logs to
// stdout/stderr, every installed top-level module imports, it exits 0
// within the grace period on SIGTERM, and it refuses to start without each
// required variable. Every container it starts is removed before it
// returns, also when ctx is cancelled.
func Run(ctx context.Context, image string, cfg RunConfig) ([]Result, error) {
	if cfg.Engine == "" {
		cfg.Engine = "docker"
	}
	if cfg.Grace == 0 {
		cfg.Grace = 30 * time.Second
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 60 * time.Second
	}
	e := engine{name: cfg.Engine}
	name := "kiln-verify-" + randomSuffix()
	defer e.remove(name)
	args := []string{"run", "-d", "--name", name, "--label", "dev.kiln.verify=1"}
	if cfg.Port != 0 {
		args = append(args, "-p", fmt.Sprintf("127.0.0.1::%d", cfg.Port))
	}
	if _, err := e.run(ctx, append(args, image)...); err != nil {
		return nil, fmt.Errorf("starting %s: %w", image, err)
	}
	var out []Result
	add := func(check, status, detail string) {
		out = append(out, Result{Check: check, Status: status, Detail: detail})
	}

	if cfg.HealthPath != "" && cfg.Port != 0 {
		hostPort, err := e.run(ctx, "port", name, fmt.Sprintf("%d/tcp", cfg.Port))
		if err != nil {
			return nil, err
		}
		hostPort = strings.TrimSpace(strings.Split(hostPort, "\n")[0])
		hostPort = hostPort[strings.LastIndex(hostPort, ":")+1:]
		url := "http://127.0.0.1:" + hostPort + cfg.HealthPath
		if took, err := waitHealthy(ctx, url, cfg.Timeout); err != nil {
			logs, _ := e.run(context.Background(), "logs", "--tail", "20", name)
			add("run-health", StatusFail, fmt.Sprintf("%s: %v; last logs: %s", cfg.HealthPath, err, oneLine(logs)))
		} else {
			add("run-health", StatusPass, fmt.Sprintf("%s answered 200 after %s", cfg.HealthPath, took.Round(time.Millisecond)))
		}
	} else {
		add("run-health", StatusSkip, "no healthcheck path or port")
	}

	// The first process `top` lists is the container's main one; ps wants
	// a PID column next to the uid.
	if ps, err := e.run(ctx, "top", name, "-o", "pid,uid"); err != nil {
		add("run-user", StatusFail, fmt.Sprintf("cannot list the container's processes: %v", err))
	} else if f := strings.Fields(ps); len(f) < 4 || f[3] == "0" {
		add("run-user", StatusFail, "main process uid 0: it runs as root")
	} else {
		add("run-user", StatusPass, "main process uid "+f[3])
	}

	if logs, _ := e.run(ctx, "logs", name); strings.TrimSpace(logs) == "" {
		add("run-logs", StatusWarn, "nothing written to stdout or stderr yet")
	} else {
		add("run-logs", StatusPass, fmt.Sprintf("%d bytes on stdout/stderr", len(logs)))
	}

	for _, c := range cfg.Commands {
		if msg, err := e.run(ctx, "exec", name, "sh", "-c", c); err != nil {
			add("run-command", StatusFail, fmt.Sprintf("%s: %s", c, oneLine(msg)))
		} else {
			add("run-command", StatusPass, c)
		}
	}

	// The venv's python comes first on PATH in kiln's images; other images
	// may only have python3.
	msg, err := e.run(ctx, "exec", name, "python", "-c", importAll)
	if err != nil && strings.Contains(msg, "executable file not found") {
		msg, err = e.run(ctx, "exec", name, "python3", "-c", importAll)
	}
	switch {
	case err != nil && strings.Contains(msg, "executable file not found"):
		add("run-imports", StatusSkip, "no python or python3 on PATH")
	case err != nil:
		add("run-imports", StatusFail, oneLine(msg))
	default:
		add("run-imports", StatusPass, oneLine(msg))
	}

	start := time.Now()
	if _, err := e.run(ctx, "stop", "-t", strconv.Itoa(int(cfg.Grace/time.Second)), name); err != nil {
		return nil, err
	}
	took := time.Since(start).Round(time.Millisecond)
	code, _ := e.run(ctx, "inspect", "-f", "{{.State.ExitCode}}", name)
	if strings.TrimSpace(code) == "0" {
		add("run-sigterm", StatusPass, fmt.Sprintf("exited 0 %s after SIGTERM", took))
	} else {
		add("run-sigterm", StatusFail, fmt.Sprintf("exit code %s %s after SIGTERM (grace %s): it did not stop cleanly", strings.TrimSpace(code), took, cfg.Grace))
	}

	for _, v := range cfg.RequiredEnv {
		out = append(out, requiredEnv(ctx, e, image, v))
	}
	return out, nil
}

// importAll imports every top-level module of every distribution in the
// environment, printing a count or the failures.
const importAll = `
import importlib, importlib.metadata as md, sys
failed, seen = [], set()
for d in md.distributions():
    for p in d.files or []:
        first = p.parts[0] if p.parts else ""
        if len(p.parts) > 1 and not first.endswith((".dist-info", ".data")) and first not in ("..", "__pycache__"):
            t = first
        elif first.endswith(".py"):
            t = first[:-3]
        elif first.endswith(".so"):
            t = first.split(".")[0]
        else:
            continue
        if t in seen or not t.isidentifier() or t.startswith("_"):
            continue
        seen.add(t)
        try:
            importlib.import_module(t)
        except Exception as e:
            failed.append(f"{t} ({d.metadata['Name']}): {type(e).__name__}: {e}")
if failed:
    print("; ".join(failed)); sys.exit(1)
print(f"{len(seen)} top-level modules import")
`

func requiredEnv(ctx context.Context, e engine, image, v string) Result {
	name := "kiln-verify-" + randomSuffix()
	defer e.remove(name)
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := e.run(cctx, "run", "--name", name, "--label", "dev.kiln.verify=1", "-e", v, image)
	switch {
	case cctx.Err() != nil:
		return Result{Check: "run-required-env", Status: StatusFail, Detail: v + ": still running after 30s without it"}
	case err == nil:
		return Result{Check: "run-required-env", Status: StatusFail, Detail: v + ": the service exited 0 without it"}
	case !strings.Contains(out, v):
		return Result{Check: "run-required-env", Status: StatusFail, Detail: v + ": exited non-zero but its output does not name the variable"}
	}
	return Result{Check: "run-required-env", Status: StatusPass, Detail: v + ": refused to start, naming it"}
}

type engine struct{ name string }

// run executes the engine CLI and returns its combined output.
func (e engine) run(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, e.name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", e.name, args[0], err, oneLine(string(out)))
	}
	return string(out), nil
}

// remove deletes a container whatever happened, with a context of its own
// so that an interrupted verify still cleans up.
func (e engine) remove(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exec.CommandContext(ctx, e.name, "rm", "-f", name).Run()
}

func waitHealthy(ctx context.Context, url string, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	client := &http.Client{Timeout: 3 * time.Second}
	var last error
	for time.Since(start) < timeout {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
			last = fmt.Errorf("status %s", resp.Status)
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
	return 0, fmt.Errorf("no 200 within %s (last: %v)", timeout, last)
}

func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
