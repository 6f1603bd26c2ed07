// Package build turns a project, its lock and a base image into an image:
// first a Plan (what goes where, with every hash), then layers and config.
// A build is a pure function of its plan.
package build

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kiln-build/kiln/internal/base"
	"github.com/kiln-build/kiln/internal/cache"
	"github.com/kiln-build/kiln/internal/debarchive"
	"github.com/kiln-build/kiln/internal/imageref"
	"github.com/kiln-build/kiln/internal/marker"
	"github.com/kiln-build/kiln/internal/pep440"
	"github.com/kiln-build/kiln/internal/pkglock"
	"github.com/kiln-build/kiln/internal/project"
	"github.com/kiln-build/kiln/internal/pyindex"
	"github.com/kiln-build/kiln/internal/tags"
	"github.com/kiln-build/kiln/internal/wheel"
)

// VenvRoot is where the virtual environment lives in every image kiln builds.
const VenvRoot = "/app/.venv"

// AppRoot is where the project's source goes.
const AppRoot = "/app"

// Options are the inputs of a build beyond the project's own files.
type Options struct {
	Project   *project.Project
	Base      string   // image reference of the base
	Platforms []string // "linux/amd64"...; empty means the config's, else linux/amd64
	Epoch     time.Time
	Cache     *cache.Cache
	Log       func(format string, args ...any)
	// Lock holds the Debian packages resolved before (kiln.lock); new
	// resolutions are recorded in it. UpdateLock resolves again anyway.
	Lock       *pkglock.Lock
	UpdateLock bool
	// Index finds the wheels of requirements files and authenticates every
	// wheel download (~/.netrc, KILN_INDEX_* variables).
	Index *pyindex.Client
}

// archive is the Debian archive the project's config names.
func (o Options) archive() *debarchive.Archive {
	c := o.Project.Config
	return &debarchive.Archive{Mirror: or(c.DebianMirror, debarchive.DefaultMirror), SecurityMirror: or(c.DebianSecurityMirror, debarchive.DefaultSecurityMirror), Cache: o.Cache}
}

func or(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// Plan is everything a build will do, printable with --plan.
type Plan struct {
	Project         string          `json:"project"`
	Version         string          `json:"version,omitempty"`
	Base            BasePlan        `json:"base"`
	Lock            LockPlan        `json:"lock"`
	Command         []string        `json:"command"`
	CommandReason   string          `json:"command_reason"`
	SourceDateEpoch int64           `json:"source_date_epoch"`
	Platforms       []*PlatformPlan `json:"platforms"`

	source  *imageref.Source
	project *project.Project
	lock    pythonLock
}

// BasePlan names the base image.
type BasePlan struct {
	Ref    string `json:"ref"`
	Name   string `json:"name"`
	Digest string `json:"digest"`
}

// LockPlan names the lock file.
type LockPlan struct {
	Path   string `json:"path"`
	Sha256 string `json:"sha256"`
}

// PlatformPlan is the part of a plan for one platform.
type PlatformPlan struct {
	Platform      string            `json:"platform"`
	BaseDigest    string            `json:"base_digest"`
	Interpreter   string            `json:"interpreter"`
	PythonVersion string            `json:"python_version"`
	Libc          string            `json:"libc"`
	Wheels        []WheelPlan       `json:"wheels"`
	DepsKey       string            `json:"dependencies_layer_key"`
	Debs          []pkglock.Package `json:"debian_packages,omitempty"`
	PackagesKey   string            `json:"packages_layer_key,omitempty"`

	platform v1.Platform
	image    v1.Image
	info     *base.Info
	packages []lockedPackage // third-party packages the lock selected
	debs     pkglock.Platform
}

// WheelPlan is one wheel chosen for a platform.
type WheelPlan struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Filename string `json:"filename"`
	URL      string `json:"url"`
	Sha256   string `json:"sha256"`
	Size     int64  `json:"size,omitempty"`
}

// layerFormat changes whenever the way kiln lays out a layer changes, so old
// cache entries are not reused for a different result.
const layerFormat = "kiln-layer-1"

// MakePlan reads the lock and the base and decides everything the build will do.
func MakePlan(ctx context.Context, o Options) (*Plan, error) {
	p := o.Project
	lockPath, err := findLock(p, p.Config.Lock)
	if err != nil {
		return nil, err
	}
	lock, lockSum, err := openLock(o, lockPath)
	if err != nil {
		return nil, err
	}

	baseRef := o.Base
	if baseRef == "" {
		baseRef = p.Config.Base
	}
	if baseRef == "" {
		return nil, fmt.Errorf("no base image: set base in [tool.kiln] of %s or pass --base", filepath.Join(p.Dir, "pyproject.toml"))
	}
	ref, err := imageref.Parse(baseRef)
	if err != nil {
		return nil, fmt.Errorf("base %s: %w", baseRef, err)
	}
	platforms := o.Platforms
	if len(platforms) == 0 {
		platforms = p.Config.Platforms
	}
	if len(platforms) == 0 {
		platforms = []string{"linux/amd64"}
	}
	o.Log("reading base %s", baseRef)
	src, err := readBase(ctx, o, ref, platforms)
	if err != nil {
		return nil, fmt.Errorf("base: %w", err)
	}

	plan := &Plan{
		Project:         p.Name,
		Version:         p.Version,
		Base:            BasePlan{Ref: baseRef, Name: src.Name, Digest: src.Digest.String()},
		Lock:            LockPlan{Path: lockPath, Sha256: lockSum},
		SourceDateEpoch: o.Epoch.Unix(),
		source:          src,
		project:         p,
		lock:            lock,
	}
	deps := map[string]bool{}
	seen := map[string]bool{}
	for _, ps := range platforms {
		plat, err := v1.ParsePlatform(ps)
		if err != nil {
			return nil, fmt.Errorf("platform %q: %w", ps, err)
		}
		if seen[plat.String()] {
			continue
		}
		seen[plat.String()] = true
		pp, err := planPlatform(ctx, o, plan, *plat)
		if err != nil {
			return nil, err
		}
		if err := planPackages(ctx, o, plan, pp); err != nil {
			return nil, err
		}
		for _, pkg := range pp.packages {
			deps[pkg.Name] = true
		}
		plan.Platforms = append(plan.Platforms, pp)
	}

	if len(p.Config.Command) > 0 {
		plan.Command = p.Config.Command
		plan.CommandReason = "command in [tool.kiln]"
	} else {
		cmd, reason, err := project.InferCommand(p, deps, port(p))
		if err != nil {
			return nil, err
		}
		plan.Command, plan.CommandReason = cmd, reason
	}
	return plan, nil
}

func port(p *project.Project) int {
	if p.Config.Port != 0 {
		return p.Config.Port
	}
	return 8000
}

func planPlatform(ctx context.Context, o Options, plan *Plan, plat v1.Platform) (*PlatformPlan, error) {
	img, err := plan.source.ForPlatform(plat)
	if err != nil {
		return nil, err
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("base %s for %s: %w", plan.Base.Ref, plat, err)
	}
	info, err := inspectCached(o.Cache, img, digest)
	if err != nil {
		return nil, fmt.Errorf("base %s for %s: %w", plan.Base.Ref, plat, err)
	}
	if want := goArch(plat.Architecture); info.Arch != want {
		return nil, fmt.Errorf("base %s for %s: its interpreter %s is built for %s", plan.Base.Ref, plat, info.Interpreter, info.Arch)
	}
	p := plan.project
	if p.RequiresPython != "" {
		spec, err := pep440.ParseSpecifiers(p.RequiresPython)
		if err != nil {
			return nil, fmt.Errorf("%s: requires-python %q: %w", filepath.Join(p.Dir, "pyproject.toml"), p.RequiresPython, err)
		}
		v, err := pep440.ParseVersion(info.PythonVersion)
		if err != nil {
			return nil, fmt.Errorf("base %s: interpreter version %q: %w", plan.Base.Ref, info.PythonVersion, err)
		}
		if !spec.Contains(v) {
			return nil, fmt.Errorf("base %s for %s has Python %s at %s, outside the project's requires-python %q", plan.Base.Ref, plat, info.PythonVersion, info.Interpreter, p.RequiresPython)
		}
	}
	env, err := marker.LinuxCPython(info.PythonVersion, info.Arch)
	if err != nil {
		return nil, err
	}
	groups, err := selectedGroups(p)
	if err != nil {
		return nil, err
	}
	packages, err := plan.lock.ThirdParty(ctx, env, groups)
	if err != nil {
		return nil, fmt.Errorf("for %s (Python %s): %w", plat, info.PythonVersion, err)
	}
	target := tags.Target{PythonMinor: info.PythonMinor, Arch: info.Arch, Libc: info.Libc.Kind, LibcVersion: info.Libc.Version}
	pp := &PlatformPlan{
		Platform:      plat.String(),
		BaseDigest:    digest.String(),
		Interpreter:   info.Interpreter,
		PythonVersion: info.PythonVersion,
		Libc:          info.Libc.Kind + " " + info.Libc.Version,
		platform:      plat,
		image:         img,
		info:          info,
		packages:      packages,
	}
	keyParts := []string{layerFormat, "deps", VenvRoot, info.Interpreter, info.PythonVersion}
	for _, pkg := range packages {
		names := make([]string, len(pkg.Wheels))
		for i, w := range pkg.Wheels {
			names[i] = w.Filename
		}
		i, err := wheel.Best(names, target)
		if err != nil {
			return nil, fmt.Errorf("package %s %s for %s (CPython %s, %s %s): %w; kiln installs wheels only and never builds an sdist",
				pkg.Name, pkg.Version, plat, info.PythonVersion, info.Libc.Kind, info.Libc.Version, err)
		}
		w := pkg.Wheels[i]
		algo, hexsum, ok := strings.Cut(w.Hash, ":")
		if !ok || algo != "sha256" || hexsum == "" {
			return nil, fmt.Errorf("%s: package %s %s: wheel %s has no sha256 hash in the lock", plan.lock.Path(), pkg.Name, pkg.Version, w.Filename)
		}
		loc := wheelLocation(o, plan.lock.Path(), w)
		pp.Wheels = append(pp.Wheels, WheelPlan{Name: pkg.Name, Version: pkg.Version, Filename: w.Filename, URL: loc, Sha256: hexsum, Size: w.Size})
		keyParts = append(keyParts, w.Filename, hexsum)
	}
	sort.Slice(pp.Wheels, func(i, j int) bool { return pp.Wheels[i].Name < pp.Wheels[j].Name })
	pp.DepsKey = cache.Key(keyParts...)
	return pp, nil
}

// selectedGroups are the dependency groups to install: only those named in
// [tool.kiln] groups. tool.uv.default-groups are a development convenience of
// uv sync and are deliberately not followed: a production image gets no
// group it was not asked for.
func selectedGroups(p *project.Project) ([]string, error) {
	return p.Config.Groups, nil
}

func goArch(a string) string {
	switch a {
	case "x86_64":
		return "amd64"
	case "aarch64":
		return "arm64"
	}
	return a
}

// inspectCached inspects the base once per digest: reading a base means
// decompressing all of it, which a rebuild must not pay again.
func inspectCached(c *cache.Cache, img v1.Image, digest v1.Hash) (*base.Info, error) {
	key := cache.Key(layerFormat, "base-info-v2", digest.String())
	var info base.Info
	if c.Record("base-info", key, &info) {
		return &info, nil
	}
	got, err := base.Inspect(img)
	if err != nil {
		return nil, err
	}
	if err := c.SetRecord("base-info", key, got); err != nil {
		return nil, err
	}
	return got, nil
}
