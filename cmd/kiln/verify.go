package main

import (
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/kiln-build/kiln/internal/build"
	"github.com/kiln-build/kiln/internal/imageref"
	"github.com/kiln-build/kiln/internal/project"
	"github.com/kiln-build/kiln/internal/publish"
	"github.com/kiln-build/kiln/internal/verify"
)

func newVerifyCommand() *cobra.Command {
	var (
		asJSON   bool
		junit    string
		platform string
		allow    []string
		runIt    bool
		config   string
		rc       verify.RunConfig
	)
	cmd := &cobra.Command{
		Use:   "verify IMAGE",
		Short: "Check that an image is fit to ship, without running it",
		Long: `Verify reads any image (registry, oci:, docker-archive:, docker-daemon:) and checks, without an
engine: it runs as a non-root user that exists; CMD or ENTRYPOINT in exec form; a HEALTHCHECK; no
development or test packages in site-packages; no build toolchain; no secrets in any layer,
including files later layers delete or overwrite, nor in the config's env, labels and history;
every ELF file's shared libraries resolve inside the image; the base is pinned by digest; size and
wasted bytes; application and venv not writable by the runtime user.

With --run it also starts the image in the local engine (docker, or podman with --engine) and
checks its behaviour: the health path answers 200 (path and port from the image's healthcheck and
exposed port, or --health-path and --port), the main process is not root, it logs to
stdout/stderr, every installed top-level module imports, SIGTERM makes it exit 0 within the
grace period, and without each required variable (the image's dev.kiln.required-env label, or
--required-env) it exits non-zero naming it. Every container it starts is removed, also when it is
interrupted.

Budgets (max-image-size, max-wasted), severities per check (error, warning, off), accepted
exceptions and --run settings come from [tool.kiln.verify] of a project (--config DIR or its
pyproject.toml; ./pyproject.toml when present) or a TOML file of those keys (--config FILE). With a
project's uv.lock, what only its development groups install counts as a dev package.

Exit status: 0 when every check passes (warnings allowed), 1 when one fails, 2 when the image
cannot be read.`,
		Example: `  kiln verify docker-daemon:myservice:1.0
  kiln verify oci:./out:1.0 --json
  kiln verify registry.example.com/acme/api:1.4 --junit verify.xml --allow secrets:/app/tests/fixtures/*`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := imageref.Parse(args[0])
			if err != nil {
				return badInput(err)
			}
			src, err := imageref.Read(cmd.Context(), ref)
			if err != nil {
				return badInput(err)
			}
			img := src.Image
			if img == nil {
				p, err := v1.ParsePlatform(platform)
				if err != nil {
					return badInput(fmt.Errorf("--platform %s: %w", platform, err))
				}
				if img, err = src.ForPlatform(*p); err != nil {
					return badInput(err)
				}
			}
			settings, err := loadVerifySettings(cmd, config)
			if err != nil {
				return badInput(err)
			}
			for _, a := range allow {
				if err := verify.ValidateAllow(a); err != nil {
					return badInput(fmt.Errorf("--allow %w", err))
				}
			}
			settings.Static.Allow = append(settings.Static.Allow, allow...)
			results, err := verify.Static(img, settings.Static)
			if err != nil {
				return badInput(fmt.Errorf("%s: %w", args[0], err))
			}
			if runIt {
				more, err := runChecks(cmd, ref, img, mergeRunFlags(cmd, settings.Run, rc))
				if err != nil {
					return err
				}
				for _, r := range more {
					results = append(results, settings.Static.Adjust(r))
				}
			}
			if junit != "" {
				if err := writeJUnit(junit, args[0], results); err != nil {
					return err
				}
			}
			if err := printJSONOrText(cmd, asJSON, results, func() {
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "CHECK\tRESULT\tDETAIL")
				for _, r := range results {
					fmt.Fprintf(w, "%s\t%s\t%s\n", r.Check, r.Status, r.Detail)
				}
				w.Flush()
			}); err != nil {
				return err
			}
			for _, r := range results {
				if r.Status == verify.StatusFail {
					return &exitError{code: 1, err: fmt.Errorf("%s: check %s failed", args[0], r.Check)}
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&asJSON, "json", false, "print the results as JSON")
	fl.StringVar(&junit, "junit", "", "also write the results as a JUnit XML file, for CI systems")
	fl.StringVar(&platform, "platform", "linux/amd64", "the image of a multi-platform index to check")
	fl.BoolVar(&runIt, "run", false, "also run the image in the local engine and check its behaviour")
	fl.StringVar(&rc.Engine, "engine", "docker", "container engine CLI for --run: docker or podman")
	fl.StringVar(&rc.HealthPath, "health-path", "", "HTTP path that must answer 200 (default: from the image's healthcheck)")
	fl.IntVar(&rc.Port, "port", 0, "container port of the service (default: the image's single exposed port)")
	fl.StringArrayVar(&rc.RequiredEnv, "required-env", nil, "variable the service must refuse to start without (default: the image's dev.kiln.required-env label); repeatable")
	fl.StringArrayVar(&rc.Commands, "command", nil, "shell command that must exit 0 in the running container, e.g. 'nginx -t'; repeatable")
	fl.DurationVar(&rc.Grace, "grace", 30*time.Second, "how long the service may take to exit after SIGTERM")
	fl.StringArrayVar(&allow, "allow", nil, "accepted exception CHECK:SUBJECT (a path glob or a name), e.g. secrets:/app/tests/*; repeatable, added to the config's")
	fl.StringVar(&config, "config", "", "budgets, severities and exceptions: a pyproject.toml (or its directory) with [tool.kiln.verify], or a TOML file of those keys (default: ./pyproject.toml when present)")
	return cmd
}

// loadVerifySettings reads the verify configuration: --config, else
// ./pyproject.toml when there is one. From a project it also takes the
// packages only its development groups install, as dev packages.
func loadVerifySettings(cmd *cobra.Command, config string) (verify.Settings, error) {
	dir := ""
	switch {
	case config == "":
		if _, err := os.Stat("pyproject.toml"); err != nil {
			return verify.Settings{}, nil
		}
		dir = "."
	case filepath.Base(config) == "pyproject.toml":
		dir = filepath.Dir(config)
	default:
		if st, err := os.Stat(config); err == nil && st.IsDir() {
			dir = config
		} else if err != nil {
			return verify.Settings{}, fmt.Errorf("--config %s: %w", config, err)
		} else {
			return verify.LoadSettings(config)
		}
	}
	p, err := project.Load(dir)
	if err != nil {
		return verify.Settings{}, err
	}
	file := filepath.Join(p.Dir, "pyproject.toml")
	s, err := verify.ParseSettings(p.Verify)
	if err != nil {
		return verify.Settings{}, fmt.Errorf("%s: [tool.kiln.verify] %w", file, err)
	}
	dev, err := build.DevOnlyPackages(p)
	if err != nil {
		// A project without a lock still has its [tool.kiln.verify].
		fmt.Fprintf(cmd.ErrOrStderr(), "kiln verify: %v; the dev-packages check uses only its built-in list\n", err)
	}
	s.Static.DevPackages = append(s.Static.DevPackages, dev...)
	return s, nil
}

// mergeRunFlags lays the flags the user gave over the configured run
// settings.
func mergeRunFlags(cmd *cobra.Command, cfg, flags verify.RunConfig) verify.RunConfig {
	fl := cmd.Flags()
	if fl.Changed("engine") || cfg.Engine == "" {
		cfg.Engine = flags.Engine
	}
	if fl.Changed("health-path") {
		cfg.HealthPath = flags.HealthPath
	}
	if fl.Changed("port") {
		cfg.Port = flags.Port
	}
	if fl.Changed("required-env") {
		cfg.RequiredEnv = flags.RequiredEnv
	}
	cfg.Commands = append(cfg.Commands, flags.Commands...)
	if fl.Changed("grace") || cfg.Grace == 0 {
		cfg.Grace = flags.Grace
	}
	return cfg
}

type junitSuite struct {
	XMLName  xml.Name    `xml:"testsuite"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	Output    string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
}

// writeJUnit writes the results atomically as one JUnit test suite.
func writeJUnit(path, image string, results []verify.Result) error {
	s := junitSuite{Name: "kiln verify " + image, Tests: len(results)}
	for _, r := range results {
		c := junitCase{Name: r.Check, Classname: "kiln.verify", Output: r.Detail}
		switch r.Status {
		case verify.StatusFail:
			c.Failure = &junitMessage{Message: r.Detail}
			s.Failures++
		case verify.StatusSkip:
			c.Skipped = &junitMessage{Message: r.Detail}
			s.Skipped++
		}
		s.Cases = append(s.Cases, c)
	}
	data, err := xml.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".junit-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append([]byte(xml.Header), append(data, '\n')...)); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

var healthURL = regexp.MustCompile(`http://(?:127\.0\.0\.1|localhost):(\d+)(/[^"' ]*)`)

// runChecks puts the image in the engine (unless it is already there),
// fills what the flags left out from the image's config, and runs it.
func runChecks(cmd *cobra.Command, ref imageref.Ref, img v1.Image, rc verify.RunConfig) ([]verify.Result, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, badInput(err)
	}
	if hc := cf.Config.Healthcheck; hc != nil && (rc.HealthPath == "" || rc.Port == 0) {
		if m := healthURL.FindStringSubmatch(strings.Join(hc.Test, " ")); m != nil {
			if rc.HealthPath == "" {
				rc.HealthPath = m[2]
			}
			if rc.Port == 0 {
				rc.Port, _ = strconv.Atoi(m[1])
			}
		}
	}
	if rc.Port == 0 && len(cf.Config.ExposedPorts) == 1 {
		for p := range cf.Config.ExposedPorts {
			rc.Port, _ = strconv.Atoi(strings.TrimSuffix(p, "/tcp"))
		}
	}
	if len(rc.RequiredEnv) == 0 {
		if v := cf.Config.Labels["dev.kiln.required-env"]; v != "" {
			rc.RequiredEnv = strings.Split(v, ",")
		}
	}
	name := ref.Name
	if ref.Transport != imageref.DockerDaemon {
		if rc.Engine != "docker" {
			return nil, badInput(fmt.Errorf("--run with --engine %s needs a docker-daemon: image or one the engine already has", rc.Engine))
		}
		name = "kiln-verify/run:" + strconv.FormatInt(time.Now().UnixNano(), 36)
		dst, err := imageref.Parse("docker-daemon:" + name)
		if err != nil {
			return nil, err
		}
		pub, err := publish.New(dst)
		if err != nil {
			return nil, err
		}
		if _, err := pub.Publish(cmd.Context(), publish.Artifact{Image: img}); err != nil {
			return nil, fmt.Errorf("loading the image into the engine: %w", err)
		}
		defer exec.Command("docker", "rmi", "-f", name).Run()
	}
	results, err := verify.Run(cmd.Context(), name, rc)
	if err != nil {
		return nil, &exitError{code: 1, err: err}
	}
	return results, nil
}
