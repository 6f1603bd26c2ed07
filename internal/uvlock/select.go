package uvlock

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/kiln-build/kiln/internal/marker"
	"github.com/kiln-build/kiln/internal/pyname"
)

// Environment is what selection needs from the target interpreter and
// platform; internal/marker.Env implements it.
type Environment interface {
	// Matches evaluates a PEP 508 marker; extras is the set `extra` is
	// compared against (membership semantics).
	Matches(marker string, extras map[string]bool) (bool, error)
	// PythonIn reports whether the interpreter version satisfies a PEP 440
	// specifier set.
	PythonIn(spec string) (bool, error)
}

// SelectOptions say what to install from the lock.
type SelectOptions struct {
	Env    Environment
	Extras []string // extras of the root project(s) to activate
	// Groups are the dependency groups to install. Nothing is installed from
	// a group not named here, not even "dev": resolving tool.uv.default-groups
	// is the caller's business.
	Groups      []string
	AllPackages bool // all workspace members as roots (default: the workspace root only)
}

// Selection is what one target installs from the lock.
type Selection struct {
	// Project holds the selected workspace packages, by name: roots and
	// members reached through edges. They are application source, not wheels.
	// Those whose Source.Kind is "virtual" have no build system and are never
	// installed as distributions; their dependencies are selected all the same.
	Project []*Package
	// ThirdParty holds every other package to install, sorted by name; each
	// has a registry, url or path source and at least one wheel.
	ThirdParty []*Package
}

// interpreter names the target's Python in messages. Environment has no
// method for it; marker.Env, the one kiln passes, has the field.
func interpreter(env Environment) string {
	if e, ok := env.(marker.Env); ok {
		return "the target interpreter, Python " + e.PythonFullVersion
	}
	return "the target interpreter"
}

// Select walks the lock from its roots for one target, like
// `uv sync --frozen --no-install-project` followed by installing the project,
// and fails if anything selected cannot be installed from a wheel.
func (l *Lock) Select(opts SelectOptions) (*Selection, error) {
	file := l.Path
	if file == "" {
		file = "uv.lock"
	}
	if opts.Env == nil {
		return nil, fmt.Errorf("%s: no target environment to select for", file)
	}
	if l.Version != 1 {
		return nil, fmt.Errorf("%s: unsupported uv.lock schema version %d (kiln reads version 1)", file, l.Version)
	}
	// Every marker in the lock was simplified assuming requires-python holds,
	// so nothing else may be evaluated before this check.
	if l.RequiresPython != "" {
		ok, err := opts.Env.PythonIn(l.RequiresPython)
		if err != nil {
			return nil, fmt.Errorf("%s: requires-python %q: %w", file, l.RequiresPython, err)
		}
		if !ok {
			return nil, fmt.Errorf("%s: the lock's requires-python %q excludes %s", file, l.RequiresPython, interpreter(opts.Env))
		}
	}
	if len(l.SupportedMarkers) > 0 {
		ok := false
		for _, m := range l.SupportedMarkers {
			match, err := opts.Env.Matches(m, nil)
			if err != nil {
				return nil, fmt.Errorf("%s: supported-markers %q: %w", file, m, err)
			}
			if match {
				ok = true
				break
			}
		}
		if !ok {
			return nil, fmt.Errorf("%s: the target platform matches none of the lock's supported-markers (%s)", file, strings.Join(l.SupportedMarkers, "; "))
		}
	}

	s := &selector{lock: l, file: file, env: opts.Env, idx: l.index()}
	if err := s.setRoots(opts.AllPackages); err != nil {
		return nil, err
	}
	if err := s.setExtras(opts.Extras); err != nil {
		return nil, err
	}
	if err := s.setGroups(opts.Groups); err != nil {
		return nil, err
	}

	if len(l.Conflicts) > 0 {
		// Conflict markers test which extras are active anywhere in the
		// graph, which is only known after a first walk (as uv does it).
		s.activated = s.initialActivated()
		if _, err := s.walk(true); err != nil {
			return nil, err
		}
		if err := s.checkConflicts(); err != nil {
			return nil, err
		}
	}
	selected, err := s.walk(false)
	if err != nil {
		return nil, err
	}
	return s.classify(selected)
}

type selector struct {
	lock   *Lock
	file   string
	env    Environment
	idx    index
	roots  []*Package
	extras []string // requested extras, normalised
	groups []string // requested groups, normalised
	// activated is nil unless the lock has conflicts; then it holds the
	// encoded names of active projects, extras and groups.
	activated map[string]bool
	members   map[string]bool
}

type node struct {
	pkg   *Package
	extra string // "" for the package's own dependencies
}

func (s *selector) setRoots(all bool) error {
	l := s.lock
	s.members = make(map[string]bool, len(l.Members))
	for _, m := range l.Members {
		s.members[m] = true
	}
	var root *Package
	for _, p := range l.Packages {
		if isWorkspaceKind(p.Source.Kind) && p.Source.Value == "." {
			root = p
			break
		}
	}
	if root != nil {
		// A single-project lock lists no members; its root is one anyway.
		s.members[root.Name] = true
	}
	switch {
	case root != nil && !all:
		s.roots = []*Package{root}
	case len(l.Members) > 0:
		// --all-packages, or a workspace whose root is not a project: uv
		// syncs every member then.
		for _, m := range l.Members {
			p := s.idx.member(m)
			if p == nil {
				return fmt.Errorf("%s: workspace member %s has no package entry", s.file, m)
			}
			s.roots = append(s.roots, p)
		}
	case root != nil:
		s.roots = []*Package{root}
	case len(l.Requirements) == 0 && len(l.DependencyGroups) == 0:
		return fmt.Errorf("%s: no root project: no package has source \".\", there are no [manifest].members and no [manifest].requirements", s.file)
	}
	return nil
}

func (s *selector) setExtras(extras []string) error {
	known := map[string]bool{}
	for _, r := range s.roots {
		for x := range r.OptionalDependencies {
			known[x] = true
		}
		for _, x := range r.ProvidesExtras {
			known[x] = true
		}
	}
	for _, x := range extras {
		n := pyname.Normalize(x)
		if !known[n] {
			return fmt.Errorf("%s: extra %q is not provided by %s; known extras: %s", s.file, x, rootNames(s.roots), list(known))
		}
		s.extras = append(s.extras, n)
	}
	return nil
}

func (s *selector) setGroups(groups []string) error {
	known := map[string]bool{}
	for _, r := range s.roots {
		for g := range r.DevDependencies {
			known[g] = true
		}
		for _, g := range r.DeclaredGroups {
			known[g] = true
		}
	}
	for g := range s.lock.DependencyGroups {
		known[g] = true
	}
	for _, g := range groups {
		n := pyname.Normalize(g)
		if !known[n] {
			return fmt.Errorf("%s: dependency group %q is not defined by %s; known groups: %s", s.file, g, rootNames(s.roots), list(known))
		}
		s.groups = append(s.groups, n)
	}
	return nil
}

func rootNames(roots []*Package) string {
	if len(roots) == 0 {
		return "the workspace root"
	}
	n := make([]string, len(roots))
	for i, r := range roots {
		n[i] = r.Name
	}
	return strings.Join(n, ", ")
}

func list(set map[string]bool) string {
	if len(set) == 0 {
		return "(none)"
	}
	return strings.Join(sortedKeys(set), ", ")
}

func encodeProject(pkg string) string { return fmt.Sprintf("project-%d-%s", len(pkg), pkg) }
func encodeExtra(pkg, x string) string {
	return fmt.Sprintf("extra-%d-%s-%s", len(pkg), pkg, x)
}
func encodeGroup(pkg, g string) string {
	return fmt.Sprintf("group-%d-%s-%s", len(pkg), pkg, g)
}

func (s *selector) initialActivated() map[string]bool {
	a := map[string]bool{}
	for _, r := range s.roots {
		a[encodeProject(r.Name)] = true
		for _, x := range s.extras {
			if _, ok := r.OptionalDependencies[x]; ok {
				a[encodeExtra(r.Name, x)] = true
			}
		}
		for _, g := range s.groups {
			if _, ok := r.DevDependencies[g]; ok {
				a[encodeGroup(r.Name, g)] = true
			}
		}
	}
	return a
}

// checkConflicts refuses a selection in which two items of one declared
// conflict set are active: the lock has no consistent answer for it.
func (s *selector) checkConflicts() error {
	for _, set := range s.lock.Conflicts {
		var on []string
		for _, it := range set {
			var key, desc string
			switch {
			case it.Extra != "":
				key, desc = encodeExtra(it.Package, it.Extra), fmt.Sprintf("%s[%s]", it.Package, it.Extra)
			case it.Group != "":
				key, desc = encodeGroup(it.Package, it.Group), fmt.Sprintf("group %s of %s", it.Group, it.Package)
			default:
				key, desc = encodeProject(it.Package), it.Package
			}
			if s.activated[key] {
				on = append(on, desc)
			}
		}
		if len(on) > 1 {
			return fmt.Errorf("%s: %s are declared as conflicting (tool.uv.conflicts) but are selected together", s.file, strings.Join(on, " and "))
		}
	}
	return nil
}

// walk visits everything reachable from the roots for this target and returns
// the packages reached. With learn, extras activated by followed edges are
// added to s.activated (the first of uv's two passes).
func (s *selector) walk(learn bool) (map[*Package]bool, error) {
	selected := map[*Package]bool{}
	seen := map[node]bool{}
	var queue []node
	push := func(n node) {
		if !seen[n] {
			seen[n] = true
			queue = append(queue, n)
		}
	}
	// follow takes an edge from `from` (for messages) if its marker holds.
	follow := func(from string, d Dependency) error {
		target, err := s.idx.resolve(d)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", s.file, from, err)
		}
		var added []string
		if learn {
			// uv evaluates an edge as if the extras it activates were on.
			for _, x := range d.Extras {
				if k := encodeExtra(target.Name, x); !s.activated[k] {
					s.activated[k] = true
					added = append(added, k)
				}
			}
		}
		ok, err := s.match(d.Marker)
		if err != nil {
			return fmt.Errorf("%s: %s: dependency %s: marker %q: %w", s.file, from, d.Name, d.Marker, err)
		}
		if !ok {
			for _, k := range added {
				delete(s.activated, k)
			}
			return nil
		}
		selected[target] = true
		push(node{target, ""})
		for _, x := range d.Extras {
			push(node{target, x})
		}
		return nil
	}

	for _, r := range s.roots {
		selected[r] = true
		push(node{r, ""})
		for _, x := range s.extras {
			if _, ok := r.OptionalDependencies[x]; ok {
				push(node{r, x})
			}
		}
		for _, g := range s.groups {
			for _, d := range r.DevDependencies[g] {
				if err := follow(fmt.Sprintf("package %s: dev-dependencies %s", label(r), g), d); err != nil {
					return nil, err
				}
			}
		}
	}
	reqs := func(where string, rs []Requirement) error {
		for _, r := range rs {
			// These markers never carry conflict extras (uv evaluates them
			// without any).
			ok := true
			var err error
			if r.Marker != "" {
				ok, err = s.env.Matches(r.Marker, nil)
			}
			if err != nil {
				return fmt.Errorf("%s: %s: %s: marker %q: %w", s.file, where, r.Name, r.Marker, err)
			}
			if !ok {
				continue
			}
			p, err := s.byMarkers(r.Name)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", s.file, where, err)
			}
			selected[p] = true
			push(node{p, ""})
			for _, x := range r.Extras {
				push(node{p, x})
			}
		}
		return nil
	}
	if err := reqs("[manifest].requirements", s.lock.Requirements); err != nil {
		return nil, err
	}
	for _, g := range s.groups {
		if err := reqs("[manifest.dependency-groups] "+g, s.lock.DependencyGroups[g]); err != nil {
			return nil, err
		}
	}

	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		from := "package " + label(n.pkg)
		deps := n.pkg.Dependencies
		if n.extra != "" {
			// An extra the package does not list simply adds nothing, as in uv.
			deps = n.pkg.OptionalDependencies[n.extra]
			from += ": optional-dependencies " + n.extra
		}
		for _, d := range deps {
			if err := follow(from, d); err != nil {
				return nil, err
			}
		}
	}
	return selected, nil
}

func (s *selector) match(marker string) (bool, error) {
	if marker == "" {
		return true, nil
	}
	return s.env.Matches(marker, s.activated)
}

// byMarkers finds the package a bare requirement means: the only one of that
// name, or the only one whose resolution-markers (forks) fit the target.
func (s *selector) byMarkers(name string) (*Package, error) {
	var found *Package
	for _, p := range s.idx[name] {
		fits := len(p.ResolutionMarkers) == 0
		for _, m := range p.ResolutionMarkers {
			ok, err := s.env.Matches(m, nil)
			if err != nil {
				return nil, fmt.Errorf("package %s: resolution-markers %q: %w", label(p), m, err)
			}
			if ok {
				fits = true
				break
			}
		}
		if !fits {
			continue
		}
		if found != nil {
			return nil, fmt.Errorf("requirement %s matches several locked packages (%s and %s)", name, label(found), label(p))
		}
		found = p
	}
	if found == nil {
		return nil, fmt.Errorf("requirement %s has no locked package for this target", name)
	}
	return found, nil
}

func (s *selector) classify(selected map[*Package]bool) (*Selection, error) {
	sel := &Selection{}
	var errs []error
	byName := map[string]*Package{}
	for p := range selected {
		if other, dup := byName[p.Name]; dup {
			a, b := other, p
			if a.Version > b.Version {
				a, b = b, a
			}
			errs = append(errs, fmt.Errorf("%s: package %s is selected twice, as %s (%s) and %s (%s); one environment can hold only one",
				s.file, p.Name, a.Version, a.Source, b.Version, b.Source))
			continue
		}
		byName[p.Name] = p
		switch {
		case s.members[p.Name] && isWorkspaceKind(p.Source.Kind):
			sel.Project = append(sel.Project, p)
		case p.Source.Kind == KindVirtual:
			// A virtual path dependency: nothing to install, its
			// dependencies were followed.
		case p.Source.Kind == KindGit:
			errs = append(errs, fmt.Errorf("%s: package %s comes from a Git repository (%s): kiln installs wheels only and never builds sdists or source trees",
				s.file, label(p), p.Source))
		case p.Source.Kind == KindDirectory || p.Source.Kind == KindEditable:
			errs = append(errs, fmt.Errorf("%s: package %s is a source tree outside the workspace (%s): kiln installs wheels only and never builds sdists or source trees",
				s.file, label(p), p.Source))
		case len(p.Wheels) == 0:
			errs = append(errs, fmt.Errorf("%s: package %s (%s) has no wheels, only an sdist: kiln installs wheels only and never builds sdists",
				s.file, label(p), p.Source))
		default:
			sel.ThirdParty = append(sel.ThirdParty, p)
		}
	}
	if len(errs) > 0 {
		sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
		return nil, errors.Join(errs...)
	}
	sortPackages(sel.Project)
	sortPackages(sel.ThirdParty)
	return sel, nil
}

func sortPackages(ps []*Package) {
	sort.Slice(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
}

// ThirdPartyKey is a stable digest of the selected third-party entries (name,
// version, source, wheels with hashes), so a change to the project itself
// leaves it unchanged. It has the form "sha256:<hex>".
func (s *Selection) ThirdPartyKey() string {
	ps := append([]*Package(nil), s.ThirdParty...)
	// Select sorts ThirdParty already, but a caller may build a Selection by hand.
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Name != ps[j].Name {
			return ps[i].Name < ps[j].Name
		}
		return ps[i].Version < ps[j].Version
	})
	h := sha256.New()
	// Length-prefixed fields: no value can be mistaken for a separator.
	field := func(v string) { fmt.Fprintf(h, "%d:%s,", len(v), v) }
	field("kiln-uvlock-thirdparty-1")
	for _, p := range ps {
		field(p.Name)
		field(p.Version)
		field(p.Source.Kind)
		field(p.Source.Value)
		field(p.Source.Subdirectory)
		field(strconv.Itoa(len(p.Wheels)))
		for _, w := range p.Wheels {
			field(w.Filename)
			field(w.URL)
			field(w.Path)
			field(w.Hash)
			field(strconv.FormatInt(w.Size, 10))
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
