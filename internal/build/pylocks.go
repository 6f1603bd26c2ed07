package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kiln-build/kiln/internal/marker"
	"github.com/kiln-build/kiln/internal/project"
	"github.com/kiln-build/kiln/internal/pyindex"
	"github.com/kiln-build/kiln/internal/pylock"
	"github.com/kiln-build/kiln/internal/requirements"
	"github.com/kiln-build/kiln/internal/uvlock"
)

// pythonLock is a lock file of any format, reduced to what a build needs:
// for one target, the third-party packages to install and the wheels each
// may install.
type pythonLock interface {
	Path() string
	ThirdParty(ctx context.Context, env marker.Env, groups []string) ([]lockedPackage, error)
}

// lockedPackage is one package a lock selected, with its candidate wheels.
type lockedPackage struct {
	Name, Version string
	Wheels        []uvlock.Artifact
}

// lockNames are the files kiln looks for, in this order, when --lock is
// not given. A production requirements file wins over requirements.txt;
// development ones (requirements-dev.txt, requirements/dev.txt, …) are
// never picked.
var lockNames = []string{
	"uv.lock", "pylock.toml",
	"requirements-prod.txt", "requirements/prod.txt", "requirements/production.txt",
	"requirements.txt",
}

// findLock returns the lock file of the project: explicit (relative to the
// project) or the first of lockNames that exists.
func findLock(p *project.Project, explicit string) (string, error) {
	if explicit != "" {
		if !filepath.IsAbs(explicit) {
			explicit = filepath.Join(p.Dir, explicit)
		}
		if _, err := os.Stat(explicit); err != nil {
			return "", fmt.Errorf("lock %s: %w", explicit, err)
		}
		return explicit, nil
	}
	for _, n := range lockNames {
		path := filepath.Join(p.Dir, filepath.FromSlash(n))
		if _, err := os.Stat(path); err == nil {
			return path, nil
		}
	}
	if m, _ := filepath.Glob(filepath.Join(p.Dir, "pylock.*.toml")); len(m) == 1 {
		return m[0], nil
	}
	return "", fmt.Errorf("%s: no lock file: kiln builds from uv.lock, pylock.toml or a hashed requirements.txt (or name one with --lock)", p.Dir)
}

// openLock reads the lock at path in its format and hashes its bytes for
// version.json.
func openLock(o Options, path string) (pythonLock, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	base := filepath.Base(path)
	switch {
	case base == "uv.lock":
		l, err := uvlock.Parse(path, data)
		if err != nil {
			return nil, "", err
		}
		return uvLock{l}, digest, nil
	case strings.HasSuffix(base, ".toml"):
		l, err := openPylock(path, data, o.Project.NormalizedName)
		return l, digest, err
	default:
		l, err := openRequirements(o, path)
		return l, digest, err
	}
}

type uvLock struct{ l *uvlock.Lock }

func (u uvLock) Path() string { return u.l.Path }

func (u uvLock) ThirdParty(_ context.Context, env marker.Env, groups []string) ([]lockedPackage, error) {
	sel, err := u.l.Select(uvlock.SelectOptions{Env: env, Groups: groups})
	if err != nil {
		return nil, err
	}
	out := make([]lockedPackage, len(sel.ThirdParty))
	for i, p := range sel.ThirdParty {
		out[i] = lockedPackage{Name: p.Name, Version: p.Version, Wheels: p.Wheels}
	}
	return out, nil
}

// wheelLocation is where to fetch a locked wheel from: a find-links
// directory that holds a file of that name (its hash is still checked when
// fetched), else the lock's URL, else its path resolved against the lock's
// directory.
func wheelLocation(o Options, lockPath string, w uvlock.Artifact) string {
	for _, dir := range o.Project.Config.FindLinks {
		if strings.Contains(dir, "://") {
			continue
		}
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(o.Project.Dir, dir)
		}
		candidate := filepath.Join(dir, w.Filename)
		if _, err := os.Stat(candidate); err == nil {
			return candidate
		}
	}
	if w.URL != "" {
		return w.URL
	}
	if w.Path != "" && !filepath.IsAbs(w.Path) {
		return filepath.Join(filepath.Dir(lockPath), w.Path)
	}
	return w.Path
}

type pylockFile struct {
	l       *pylock.Lock
	project string // the project's own entry (a directory source) is the application, not a dependency
}

func openPylock(path string, data []byte, project string) (pythonLock, error) {
	l, err := pylock.Parse(path, data)
	if err != nil {
		return nil, err
	}
	return pylockFile{l: l, project: project}, nil
}

func (p pylockFile) Path() string { return p.l.Path }

func (p pylockFile) ThirdParty(_ context.Context, env marker.Env, groups []string) ([]lockedPackage, error) {
	// Unlike uv's default-groups (a development convenience), a pylock.toml's
	// default-groups are what its author locked for installation: they apply
	// unless [tool.kiln] groups names others.
	var selected []string
	if len(groups) > 0 {
		selected = groups
	}
	pkgs, err := p.l.Select(pylock.SelectOptions{Env: env, Groups: selected, Skip: []string{p.project}})
	if err != nil {
		return nil, err
	}
	out := make([]lockedPackage, len(pkgs))
	for i, pk := range pkgs {
		out[i] = lockedPackage{Name: pk.Name, Version: pk.Version, Wheels: pk.Wheels}
	}
	return out, nil
}

// requirementsLock is a hashed requirements file: pinned names and allowed
// hashes, with the wheels found on its indexes and find-links.
type requirementsLock struct {
	path      string
	file      *requirements.File
	index     *pyindex.Client
	findLinks []string
	project   string
}

func openRequirements(o Options, path string) (pythonLock, error) {
	f, err := requirements.Parse(path)
	if err != nil {
		return nil, err
	}
	links := append([]string{}, f.Options.FindLinks...)
	for _, l := range o.Project.Config.FindLinks {
		if !strings.Contains(l, "://") && !filepath.IsAbs(l) {
			l = filepath.Join(o.Project.Dir, l)
		}
		links = append(links, l)
	}
	if f.Options.IndexURL == "" && len(f.Options.ExtraIndexURLs) == 0 && len(links) == 0 {
		return nil, fmt.Errorf("%s: no --index-url, --extra-index-url or --find-links: kiln does not assume PyPI; name where the wheels are", path)
	}
	return &requirementsLock{path: path, file: f, index: o.Index, findLinks: links, project: o.Project.NormalizedName}, nil
}

func (r *requirementsLock) Path() string { return r.path }

func (r *requirementsLock) ThirdParty(ctx context.Context, env marker.Env, _ []string) ([]lockedPackage, error) {
	var linked []pyindex.File
	for _, l := range r.findLinks {
		files, err := r.index.FindLinks(ctx, l)
		if err != nil {
			return nil, fmt.Errorf("%s: --find-links %s: %w", r.path, pyindex.Redact(l), err)
		}
		linked = append(linked, files...)
	}
	indexes := r.file.Options.ExtraIndexURLs
	if r.file.Options.IndexURL != "" {
		indexes = append([]string{r.file.Options.IndexURL}, indexes...)
	}
	selected, err := r.file.Select(env)
	if err != nil {
		return nil, err
	}
	var out []lockedPackage
	for _, req := range selected {
		if req.Constraint || req.Name == r.project {
			continue
		}
		candidates := pyindex.Pick(linked, req.Name, req.Version, req.Hashes)
		for _, ix := range indexes {
			files, err := r.index.Files(ctx, ix, req.Name)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %s: %w", req.File, req.Line, req.Name, err)
			}
			candidates = append(candidates, pyindex.Pick(files, req.Name, req.Version, req.Hashes)...)
		}
		if len(candidates) == 0 {
			return nil, fmt.Errorf("%s:%d: %s==%s: no wheel with one of the listed hashes on %s", req.File, req.Line, req.Name, req.Version, whereList(indexes, r.findLinks))
		}
		p := lockedPackage{Name: req.Name, Version: req.Version}
		seen := map[string]bool{}
		for _, c := range candidates {
			if seen[c.Filename] {
				continue
			}
			seen[c.Filename] = true
			p.Wheels = append(p.Wheels, uvlock.Artifact{URL: c.URL, Filename: c.Filename, Hash: "sha256:" + c.Hashes["sha256"], Size: c.Size})
		}
		out = append(out, p)
	}
	return out, nil
}

func whereList(indexes, links []string) string {
	var all []string
	for _, s := range append(append([]string{}, indexes...), links...) {
		all = append(all, pyindex.Redact(s))
	}
	return strings.Join(all, ", ")
}

// DevOnlyPackages returns the packages of p's lock that only its dependency
// groups outside [tool.kiln] groups bring in: what must never be found in
// its image. Only uv.lock records the groups as a graph; for other lock
// formats it returns nothing.
func DevOnlyPackages(p *project.Project) ([]string, error) {
	path, err := findLock(p, p.Config.Lock)
	if err != nil {
		return nil, err
	}
	if filepath.Base(path) != "uv.lock" {
		return nil, nil
	}
	l, err := uvlock.Load(path)
	if err != nil {
		return nil, err
	}
	return l.DevOnly(p.Config.Groups), nil
}
