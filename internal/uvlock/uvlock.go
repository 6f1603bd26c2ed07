// Package uvlock reads uv.lock files (schema version 1) and selects the
// packages a target environment needs from them, the way `uv sync --frozen`
// does, for an installer that only unpacks prebuilt wheels.
package uvlock

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"regexp"
	"strings"

	"github.com/kiln-build/kiln/internal/pyname"
	"github.com/pelletier/go-toml/v2"
)

// Lock is a parsed uv.lock.
type Lock struct {
	Version, Revision int
	RequiresPython    string // PEP 440 specifier set, "" if absent
	SupportedMarkers  []string
	Conflicts         [][]ConflictItem // top-level `conflicts`; non-empty turns on conflict markers
	Members           []string         // [manifest].members, normalised
	// Requirements and DependencyGroups belong to a workspace root that is not
	// itself a project ([manifest].requirements and [manifest.dependency-groups]).
	Requirements     []Requirement
	DependencyGroups map[string][]Requirement
	Packages         []*Package
	Path             string // file it came from, for errors
}

// ConflictItem is one member of a `conflicts` set: a package's extra, a
// package's dependency group, or (both empty) the package itself.
type ConflictItem struct {
	Package, Extra, Group string
}

// Requirement is a PEP 508 requirement of a non-project workspace root; unlike
// a Dependency it names no locked version, only a specifier.
type Requirement struct {
	Name, Specifier, Marker string
	Extras                  []string
}

// Package is one [[package]] entry.
type Package struct {
	Name, Version        string // Name normalised (PEP 503); Version "" when dynamic
	Source               Source
	ResolutionMarkers    []string // forks this entry belongs to; used to pick among same-named roots
	Dependencies         []Dependency
	OptionalDependencies map[string][]Dependency
	DevDependencies      map[string][]Dependency // all PEP 735 groups, despite the name
	ProvidesExtras       []string                // [package.metadata].provides-extras
	// DeclaredGroups are the keys of [package.metadata.requires-dev]: every
	// group the project declares, including empty ones that have no
	// dev-dependencies entry.
	DeclaredGroups []string
	Sdist          *Artifact
	Wheels         []Artifact
}

// Source says where a package comes from.
type Source struct {
	Kind         string // registry, git, url, path, directory, editable or virtual
	Value        string
	Subdirectory string // url sources only
}

// Source kinds.
const (
	KindRegistry  = "registry"
	KindGit       = "git"
	KindURL       = "url"
	KindPath      = "path"
	KindDirectory = "directory"
	KindEditable  = "editable"
	KindVirtual   = "virtual"
)

func (s Source) String() string {
	if s.Subdirectory != "" {
		return s.Kind + " " + s.Value + " (subdirectory " + s.Subdirectory + ")"
	}
	return s.Kind + " " + s.Value
}

// Dependency is an edge to another package of the lock. Version and Source
// are only written by uv when several packages share the name.
type Dependency struct {
	Name, Version string
	Source        *Source
	Extras        []string // extras of the target to activate, normalised
	Marker        string
}

// Artifact is an sdist or a wheel.
type Artifact struct {
	URL, Path, Filename, Hash string // Hash is "algo:hex", e.g. "sha256:…"; "" when uv recorded none
	Size                      int64  // 0 when unknown
}

// Load reads and parses the uv.lock at path.
func Load(path string) (*Lock, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses uv.lock content; path is used in error messages only.
func Parse(path string, data []byte) (*Lock, error) {
	if path == "" {
		path = "uv.lock"
	}
	// Check the schema version before decoding the rest: a future schema may
	// not fit the structs below, and "unsupported version" is the useful error.
	var head struct {
		Version *int `toml:"version"`
	}
	if err := toml.Unmarshal(data, &head); err != nil {
		return nil, decodeError(path, err)
	}
	if head.Version == nil {
		return nil, fmt.Errorf("%s: no lock schema version (is this a uv.lock?)", path)
	}
	if *head.Version != 1 {
		return nil, fmt.Errorf("%s: unsupported uv.lock schema version %d (kiln reads version 1)", path, *head.Version)
	}
	var w lockWire
	if err := toml.Unmarshal(data, &w); err != nil {
		return nil, decodeError(path, err)
	}
	return w.lock(path)
}

func decodeError(path string, err error) error {
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		return fmt.Errorf("%s:%d:%d: %w", path, row, col, err)
	}
	return fmt.Errorf("%s: %w", path, err)
}

type lockWire struct {
	Version          int                  `toml:"version"`
	Revision         int                  `toml:"revision"`
	RequiresPython   string               `toml:"requires-python"`
	SupportedMarkers []string             `toml:"supported-markers"`
	Conflicts        [][]conflictItemWire `toml:"conflicts"`
	Manifest         manifestWire         `toml:"manifest"`
	Package          []packageWire        `toml:"package"`
	Distribution     []packageWire        `toml:"distribution"` // old alias uv still accepts
}

type conflictItemWire struct {
	Package string  `toml:"package"`
	Extra   *string `toml:"extra"`
	Group   *string `toml:"group"`
}

type manifestWire struct {
	Members          []string                     `toml:"members"`
	Requirements     []requirementWire            `toml:"requirements"`
	DependencyGroups map[string][]requirementWire `toml:"dependency-groups"`
}

type requirementWire struct {
	Name      string   `toml:"name"`
	Specifier string   `toml:"specifier"`
	Marker    string   `toml:"marker"`
	Extras    []string `toml:"extras"`
}

type packageWire struct {
	Name                 string                      `toml:"name"`
	Version              string                      `toml:"version"`
	Source               *sourceWire                 `toml:"source"`
	ResolutionMarkers    []string                    `toml:"resolution-markers"`
	Dependencies         []dependencyWire            `toml:"dependencies"`
	Sdist                *artifactWire               `toml:"sdist"`
	Wheels               []artifactWire              `toml:"wheels"`
	OptionalDependencies map[string][]dependencyWire `toml:"optional-dependencies"`
	DevDependencies      map[string][]dependencyWire `toml:"dev-dependencies"`
	Metadata             struct {
		ProvidesExtras []string              `toml:"provides-extras"`
		RequiresDev    map[string][]struct{} `toml:"requires-dev"`
	} `toml:"metadata"`
}

type sourceWire struct {
	Registry     *string `toml:"registry"`
	Git          *string `toml:"git"`
	URL          *string `toml:"url"`
	Path         *string `toml:"path"`
	Directory    *string `toml:"directory"`
	Editable     *string `toml:"editable"`
	Virtual      *string `toml:"virtual"`
	Subdirectory string  `toml:"subdirectory"`
}

type dependencyWire struct {
	Name    string      `toml:"name"`
	Version string      `toml:"version"`
	Source  *sourceWire `toml:"source"`
	Extra   []string    `toml:"extra"`
	Marker  string      `toml:"marker"`
}

type artifactWire struct {
	URL      string `toml:"url"`
	Path     string `toml:"path"`
	Filename string `toml:"filename"`
	Hash     string `toml:"hash"`
	Size     int64  `toml:"size"`
}

func (w *lockWire) lock(file string) (*Lock, error) {
	l := &Lock{
		Version:          w.Version,
		Revision:         w.Revision,
		RequiresPython:   w.RequiresPython,
		SupportedMarkers: w.SupportedMarkers,
		Path:             file,
	}
	for i, set := range w.Conflicts {
		var items []ConflictItem
		for _, it := range set {
			if !validName(it.Package) {
				return nil, fmt.Errorf("%s: conflicts[%d]: invalid package name %q", file, i, it.Package)
			}
			ci := ConflictItem{Package: pyname.Normalize(it.Package)}
			switch {
			case it.Extra != nil && it.Group != nil:
				return nil, fmt.Errorf("%s: conflicts[%d]: item for %s has both an extra and a group", file, i, it.Package)
			case it.Extra != nil:
				ci.Extra = pyname.Normalize(*it.Extra)
			case it.Group != nil:
				ci.Group = pyname.Normalize(*it.Group)
			}
			items = append(items, ci)
		}
		l.Conflicts = append(l.Conflicts, items)
	}

	var err error
	if l.Requirements, err = requirements(w.Manifest.Requirements); err != nil {
		return nil, fmt.Errorf("%s: [manifest].requirements: %w", file, err)
	}
	if len(w.Manifest.DependencyGroups) > 0 {
		l.DependencyGroups = make(map[string][]Requirement, len(w.Manifest.DependencyGroups))
		for g, reqs := range w.Manifest.DependencyGroups {
			if l.DependencyGroups[pyname.Normalize(g)], err = requirements(reqs); err != nil {
				return nil, fmt.Errorf("%s: [manifest.dependency-groups] %s: %w", file, g, err)
			}
		}
	}

	wires := append(w.Package, w.Distribution...)
	seen := make(map[string]bool, len(wires))
	for i := range wires {
		p, err := wires[i].pkg()
		if err != nil {
			name := wires[i].Name
			if name == "" {
				name = fmt.Sprintf("#%d", i+1)
			}
			return nil, fmt.Errorf("%s: package %s: %w", file, name, err)
		}
		id := p.Name + "\x00" + p.Version + "\x00" + p.Source.String()
		if seen[id] {
			return nil, fmt.Errorf("%s: package %s: listed twice", file, label(p))
		}
		seen[id] = true
		l.Packages = append(l.Packages, p)
	}

	idx := l.index()
	for _, m := range w.Manifest.Members {
		m = pyname.Normalize(m)
		if idx.member(m) == nil {
			return nil, fmt.Errorf("%s: [manifest].members: %s has no workspace package entry", file, m)
		}
		l.Members = append(l.Members, m)
	}
	// uv refuses a lock whose edges point nowhere; so do we, here rather than
	// in the middle of a selection.
	for _, p := range l.Packages {
		check := func(where string, deps []Dependency) error {
			for _, d := range deps {
				if _, err := idx.resolve(d); err != nil {
					return fmt.Errorf("%s: package %s: %s: %w", file, label(p), where, err)
				}
			}
			return nil
		}
		if err := check("dependencies", p.Dependencies); err != nil {
			return nil, err
		}
		for _, x := range sortedKeys(p.OptionalDependencies) {
			if err := check("optional-dependencies "+x, p.OptionalDependencies[x]); err != nil {
				return nil, err
			}
		}
		for _, g := range sortedKeys(p.DevDependencies) {
			if err := check("dev-dependencies "+g, p.DevDependencies[g]); err != nil {
				return nil, err
			}
		}
	}
	return l, nil
}

func requirements(ws []requirementWire) ([]Requirement, error) {
	var out []Requirement
	for _, r := range ws {
		if !validName(r.Name) {
			return nil, fmt.Errorf("invalid requirement name %q", r.Name)
		}
		extras, err := names("extra", r.Extras)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Name, err)
		}
		out = append(out, Requirement{Name: pyname.Normalize(r.Name), Specifier: r.Specifier, Marker: r.Marker, Extras: extras})
	}
	return out, nil
}

func (w *packageWire) pkg() (*Package, error) {
	if !validName(w.Name) {
		return nil, fmt.Errorf("invalid name %q", w.Name)
	}
	if w.Source == nil {
		return nil, errors.New("no source")
	}
	src, err := w.Source.source()
	if err != nil {
		return nil, err
	}
	if w.Version == "" && src.Kind == KindRegistry {
		return nil, errors.New("registry package without a version")
	}
	p := &Package{
		Name:              pyname.Normalize(w.Name),
		Version:           w.Version,
		Source:            src,
		ResolutionMarkers: w.ResolutionMarkers,
	}
	if p.Dependencies, err = dependencies(w.Dependencies); err != nil {
		return nil, fmt.Errorf("dependencies: %w", err)
	}
	if p.OptionalDependencies, err = dependencyTable(w.OptionalDependencies); err != nil {
		return nil, fmt.Errorf("optional-dependencies %w", err)
	}
	if p.DevDependencies, err = dependencyTable(w.DevDependencies); err != nil {
		return nil, fmt.Errorf("dev-dependencies %w", err)
	}
	if p.ProvidesExtras, err = names("provides-extras", w.Metadata.ProvidesExtras); err != nil {
		return nil, err
	}
	if p.DeclaredGroups, err = names("requires-dev group", sortedKeys(w.Metadata.RequiresDev)); err != nil {
		return nil, err
	}
	if w.Sdist != nil {
		a, err := w.Sdist.artifact(false)
		if err != nil {
			return nil, fmt.Errorf("sdist: %w", err)
		}
		p.Sdist = &a
	}
	for _, ww := range w.Wheels {
		a, err := ww.artifact(true)
		if err != nil {
			return nil, fmt.Errorf("wheel: %w", err)
		}
		p.Wheels = append(p.Wheels, a)
	}
	return p, nil
}

func (s *sourceWire) source() (Source, error) {
	var out Source
	n := 0
	for _, k := range []struct {
		kind string
		v    *string
	}{
		{KindRegistry, s.Registry}, {KindGit, s.Git}, {KindURL, s.URL}, {KindPath, s.Path},
		{KindDirectory, s.Directory}, {KindEditable, s.Editable}, {KindVirtual, s.Virtual},
	} {
		if k.v != nil {
			out = Source{Kind: k.kind, Value: *k.v}
			n++
		}
	}
	if n != 1 {
		return Source{}, errors.New("source must have exactly one of registry, git, url, path, directory, editable, virtual")
	}
	if out.Value == "" {
		return Source{}, fmt.Errorf("empty %s source", out.Kind)
	}
	out.Subdirectory = s.Subdirectory
	return out, nil
}

func dependencies(ws []dependencyWire) ([]Dependency, error) {
	var out []Dependency
	for _, w := range ws {
		if !validName(w.Name) {
			return nil, fmt.Errorf("invalid dependency name %q", w.Name)
		}
		d := Dependency{Name: pyname.Normalize(w.Name), Version: w.Version, Marker: w.Marker}
		if w.Source != nil {
			s, err := w.Source.source()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", w.Name, err)
			}
			d.Source = &s
		}
		var err error
		if d.Extras, err = names("extra", w.Extra); err != nil {
			return nil, fmt.Errorf("%s: %w", w.Name, err)
		}
		out = append(out, d)
	}
	return out, nil
}

func dependencyTable(t map[string][]dependencyWire) (map[string][]Dependency, error) {
	if len(t) == 0 {
		return nil, nil
	}
	out := make(map[string][]Dependency, len(t))
	for k, ws := range t {
		if !validName(k) {
			return nil, fmt.Errorf("%q: invalid name", k)
		}
		deps, err := dependencies(ws)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		// Distinct spellings of one name would silently shadow each other.
		if _, dup := out[pyname.Normalize(k)]; dup {
			return nil, fmt.Errorf("%s: listed twice", k)
		}
		out[pyname.Normalize(k)] = deps
	}
	return out, nil
}

func names(what string, in []string) ([]string, error) {
	var out []string
	for _, n := range in {
		if !validName(n) {
			return nil, fmt.Errorf("invalid %s name %q", what, n)
		}
		out = append(out, pyname.Normalize(n))
	}
	return out, nil
}

var hashRE = regexp.MustCompile(`^(md5:[0-9a-f]{32}|sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128})$`)

func (w *artifactWire) artifact(wheel bool) (Artifact, error) {
	a := Artifact{URL: w.URL, Path: w.Path, Hash: w.Hash, Size: w.Size}
	n := 0
	for _, s := range []string{w.URL, w.Path, w.Filename} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return a, errors.New("needs exactly one of url, path, filename")
	}
	switch {
	case w.URL != "":
		u, err := url.Parse(w.URL)
		if err != nil {
			return a, err
		}
		// The last segment of the escaped path, decoded on its own, so that
		// an encoded "/" cannot split it.
		seg := u.EscapedPath()
		seg = seg[strings.LastIndex(seg, "/")+1:]
		if a.Filename, err = url.PathUnescape(seg); err != nil {
			return a, fmt.Errorf("%s: %w", w.URL, err)
		}
	case w.Path != "":
		a.Filename = path.Base(strings.ReplaceAll(w.Path, `\`, "/"))
	default:
		a.Filename = w.Filename
	}
	// Callers join Filename to directories; it must be one plain name.
	if a.Filename == "" || a.Filename == "." || a.Filename == ".." || strings.ContainsAny(a.Filename, "/\\\x00") {
		return a, fmt.Errorf("no usable file name in %q", w.URL+w.Path+w.Filename)
	}
	if wheel {
		parts := strings.Split(strings.TrimSuffix(a.Filename, ".whl"), "-")
		if !strings.HasSuffix(a.Filename, ".whl") || len(parts) < 5 || len(parts) > 6 {
			return a, fmt.Errorf("%s: not a wheel file name", a.Filename)
		}
	}
	if w.Hash != "" && !hashRE.MatchString(w.Hash) {
		return a, fmt.Errorf("%s: malformed hash %q", a.Filename, w.Hash)
	}
	if w.Size < 0 {
		return a, fmt.Errorf("%s: negative size", a.Filename)
	}
	return a, nil
}

// nameRE is the PEP 508 name grammar, also used by uv for extras and groups.
var nameRE = regexp.MustCompile(`^(?i:[a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9])$`)

func validName(s string) bool { return nameRE.MatchString(s) }

func label(p *Package) string {
	if p.Version == "" {
		return p.Name
	}
	return p.Name + " " + p.Version
}

// index finds packages by name; built per operation so that a Lock stays a
// plain value callers may construct or edit.
type index map[string][]*Package

func (l *Lock) index() index {
	idx := make(index, len(l.Packages))
	for _, p := range l.Packages {
		idx[p.Name] = append(idx[p.Name], p)
	}
	return idx
}

// resolve finds the target of an edge: by name alone, or by name, version and
// source when several packages share the name.
func (idx index) resolve(d Dependency) (*Package, error) {
	var found *Package
	for _, p := range idx[d.Name] {
		if d.Version != "" && d.Version != p.Version {
			continue
		}
		if d.Source != nil && *d.Source != p.Source {
			continue
		}
		if found != nil {
			return nil, fmt.Errorf("dependency %s is ambiguous: several locked versions match (edge names no version and source)", d.Name)
		}
		found = p
	}
	if found == nil {
		want := d.Name
		if d.Version != "" {
			want += " " + d.Version
		}
		if d.Source != nil {
			want += " from " + d.Source.String()
		}
		return nil, fmt.Errorf("dependency %s is not in the lock", want)
	}
	return found, nil
}

// member returns the workspace package (editable, virtual or directory
// source) called name.
func (idx index) member(name string) *Package {
	for _, p := range idx[name] {
		if isWorkspaceKind(p.Source.Kind) {
			return p
		}
	}
	return nil
}

func isWorkspaceKind(kind string) bool {
	return kind == KindEditable || kind == KindVirtual || kind == KindDirectory
}
