// Package debresolve chooses the Debian packages to add to a system so that
// some root packages and everything they depend on are installed, the way
// `apt-get install --no-install-recommends` chooses them.
//
// The rules are those of the Python prototype that reproduced apt's choice
// exactly for bookworm (debian-assembly.md §7): the roots are selected
// first, then their Pre-Depends and Depends are followed breadth first. A
// clause that the installed system, the selection so far or an excluded
// package already satisfies is skipped; otherwise its first satisfiable
// alternative is taken, a real package before the packages that provide the
// name, and providers by Priority. The seeding and the Priority ranking are
// what make apt pick usr-is-merged over usrmerge (when asked for) and mawk
// over gawk. Recommends and Suggests are never followed.
package debresolve

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kiln-build/kiln/internal/deb"
)

// Universe is the set of packages that can be installed, usually the
// merged Packages indexes of a suite and its -updates and -security.
type Universe interface {
	// Packages returns every candidate version of the real package name,
	// highest first.
	Packages(name string) []*deb.Package
	// Providers returns the packages whose Provides names virtual.
	Providers(virtual string) []*deb.Package
}

// Installed is a package the target system already has, as its dpkg status
// lists it (only entries in state "install ok installed" belong here).
type Installed struct {
	Name string
	Arch string
	// Source is the source package's name, without a version; dpkg
	// status leaves the field out, and this may be "", when it is Name.
	Source   string
	Version  deb.Version
	Provides []deb.Relation
}

// Options tunes a resolution.
type Options struct {
	// Arch is the target architecture, "amd64" or "arm64"; packages of
	// this architecture or "all" are eligible.
	Arch string
	// Exclude names packages never to install. A dependency on one, at any
	// version, or on a name one of them provides, counts as satisfied, as
	// if the package were installed. This trims what runtime images never
	// use (dpkg and tar are pulled in only by readline-common's
	// "dpkg | install-info", perl-base by the maintainer scripts of
	// others). The risk is the caller's: a program that does run an
	// excluded package, or load a library it ships, fails at run time.
	// A root is installed even if excluded: asking for it wins.
	Exclude []string
}

// Resolve returns the packages to add for roots to be installed on a system
// that has installed, sorted by name, each at its chosen version: the
// highest one that satisfies every relation that led to it.
//
// A root must be a real package or a virtual one with a single provider. A
// root, or a dependency, that is installed at a version too old for what is
// asked is upgraded, as apt would. Like apt (APT::Get::Upgrade-By-Source-
// Package), adding a package also upgrades the installed packages built
// from the same source to the same source version, so that libssl3 and
// openssl, say, do not drift apart. The installed packages' own
// dependencies are not checked again, since Installed does not carry them.
//
// Conflicts and Breaks are checked between the chosen packages, and from
// them against the installed ones; a clash is an error naming both.
func Resolve(u Universe, roots []string, installed []Installed, opts Options) ([]*deb.Package, error) {
	if opts.Arch == "" {
		return nil, errNoArch
	}
	r := newResolver(u, installed, opts)
	if err := r.seed(roots); err != nil {
		return nil, err
	}
	for len(r.queue) > 0 {
		p := r.queue[0]
		r.queue = r.queue[1:]
		for _, f := range []struct {
			verb    string
			clauses [][]deb.Relation
		}{{"pre-depends on", p.PreDepends}, {"depends on", p.Depends}} {
			for _, alts := range f.clauses {
				if err := r.clause(p, f.verb, alts); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := r.checkConflicts(); err != nil {
		return nil, err
	}
	return r.result(), nil
}

var errNoArch = errors.New("debresolve: no target architecture")

type resolver struct {
	u       Universe
	arch    string
	exclude map[string]bool
	// installed holds the installed packages of the target architecture
	// (or all) by name; an entry is dropped when it is upgraded, so its
	// Provides stop counting.
	installed map[string]*Installed
	// installedProv maps a virtual name to the installed packages
	// providing it.
	installedProv map[string][]*Installed
	// installedSrc maps a source package name to the installed packages
	// built from it.
	installedSrc map[string][]*Installed
	selected     map[string]*deb.Package
	// selectedProv maps a virtual name to the selected packages providing it.
	selectedProv map[string][]*deb.Package
	// parent records which package's dependency selected each package
	// ("" for roots), to name the chain in errors.
	parent map[string]string
	// queue holds the selected packages whose dependencies are still to
	// be followed. Each package enters it once, when selected, so
	// dependency cycles end by themselves.
	queue []*deb.Package
}

func newResolver(u Universe, installed []Installed, opts Options) *resolver {
	r := &resolver{
		u:             u,
		arch:          opts.Arch,
		exclude:       make(map[string]bool, len(opts.Exclude)),
		installed:     make(map[string]*Installed),
		installedProv: make(map[string][]*Installed),
		installedSrc:  make(map[string][]*Installed),
		selected:      make(map[string]*deb.Package),
		selectedProv:  make(map[string][]*deb.Package),
		parent:        make(map[string]string),
	}
	for _, n := range opts.Exclude {
		r.exclude[n] = true
	}
	for i := range installed {
		in := &installed[i]
		// A foreign-architecture package of a multi-arch base cannot
		// satisfy an unqualified dependency of a native one.
		if in.Arch != "" && !r.archEligible(in.Arch) {
			continue
		}
		r.installed[in.Name] = in
		src := cmp.Or(in.Source, in.Name)
		r.installedSrc[src] = append(r.installedSrc[src], in)
		for _, pv := range in.Provides {
			r.installedProv[pv.Name] = append(r.installedProv[pv.Name], in)
		}
	}
	return r
}

func (r *resolver) archEligible(arch string) bool { return arch == r.arch || arch == "all" }

// seed selects the roots before any dependency is followed, so that a
// clause such as init-system-helpers' "usrmerge | usr-is-merged" sees a
// root usr-is-merged as already satisfying it.
func (r *resolver) seed(roots []string) error {
	for _, name := range roots {
		p, err := r.root(name)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if r.selected[p.Name] != nil {
			continue
		}
		if in := r.installed[p.Name]; in != nil && deb.CompareVersions(in.Version, p.Version) >= 0 {
			continue // already the newest version
		}
		r.selectPkg(p, "")
	}
	return nil
}

// root finds the package to install for a root name: the highest version
// of the real package, or the single provider of a virtual one.
func (r *resolver) root(name string) (*deb.Package, error) {
	var best *deb.Package
	seen := false
	for _, p := range r.u.Packages(name) {
		if p.Name != name {
			continue
		}
		seen = true
		if r.archEligible(p.Architecture) && (best == nil || deb.CompareVersions(p.Version, best.Version) > 0) {
			best = p
		}
	}
	if best != nil {
		return best, nil
	}
	if seen {
		return nil, fmt.Errorf("not in the archive for %s", r.arch)
	}
	var names []string
	byName := make(map[string]*deb.Package)
	for _, p := range r.u.Providers(name) {
		if !r.archEligible(p.Architecture) || !provides(p.Provides, deb.Relation{Name: name}) {
			continue
		}
		if q, ok := byName[p.Name]; !ok || deb.CompareVersions(p.Version, q.Version) > 0 {
			if !ok {
				names = append(names, p.Name)
			}
			byName[p.Name] = p
		}
	}
	switch len(names) {
	case 0:
		return nil, fmt.Errorf("not in the archive for %s", r.arch)
	case 1:
		return byName[names[0]], nil
	}
	slices.Sort(names)
	return nil, fmt.Errorf("virtual package provided by %s; name one of them", strings.Join(names, ", "))
}

func (r *resolver) selectPkg(p *deb.Package, parent string) {
	r.selected[p.Name] = p
	r.parent[p.Name] = parent
	r.queue = append(r.queue, p)
	// On an upgrade the old version's Provides no longer hold.
	delete(r.installed, p.Name)
	for _, pv := range p.Provides {
		r.selectedProv[pv.Name] = append(r.selectedProv[pv.Name], p)
	}
	srcVersion := sourceVersion(p)
	for _, in := range r.installedSrc[p.Source] {
		if r.installed[in.Name] != in {
			continue // upgraded already
		}
		q := r.bestReal(deb.Relation{Name: in.Name})
		if q != nil && sourceVersion(q) == srcVersion && deb.CompareVersions(q.Version, in.Version) > 0 {
			r.selectPkg(q, p.Name)
		}
	}
}

// sourceVersion is the version of the source package p was built from:
// the one in "Source: name (version)" for a binary-only rebuild, else p's.
func sourceVersion(p *deb.Package) string {
	if s, ok := p.Paragraph.Get("Source"); ok {
		if _, v, ok := strings.Cut(s, "("); ok {
			return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), ")"))
		}
	}
	return p.Version.String()
}

// clause handles one AND-term of p's Pre-Depends or Depends.
func (r *resolver) clause(p *deb.Package, verb string, alts []deb.Relation) error {
	for _, a := range alts {
		if len(a.Archs) > 0 || len(a.Profiles) > 0 {
			return fmt.Errorf("%s: %s %s: architecture and build-profile restrictions are not allowed in a binary package's relations",
				r.chain(p.Name), verb, a)
		}
	}
	for _, a := range alts {
		if r.satisfied(a) {
			return nil
		}
	}
	for _, a := range alts {
		if q := r.bestReal(a); q != nil {
			r.selectPkg(q, p.Name)
			return nil
		}
		if q := r.bestProvider(a); q != nil {
			r.selectPkg(q, p.Name)
			return nil
		}
	}
	return fmt.Errorf("%s: %s %s: %s", r.chain(p.Name), verb, formatClause(alts), r.explain(alts))
}

// satisfied reports whether a already holds without adding anything.
func (r *resolver) satisfied(a deb.Relation) bool {
	if r.exclude[a.Name] {
		return true
	}
	if q := r.selected[a.Name]; q != nil && r.qualifierOK(q.MultiArch, a) && a.SatisfiedBy(q.Version) {
		return true
	}
	// The base was installed by dpkg, which enforced the same Multi-Arch
	// rules, and Installed does not record Multi-Arch: a ":any" is taken
	// as met by an installed package.
	if in := r.installed[a.Name]; in != nil && a.SatisfiedBy(in.Version) {
		return true
	}
	for _, q := range r.selectedProv[a.Name] {
		if r.qualifierOK(q.MultiArch, a) && provides(q.Provides, a) {
			return true
		}
	}
	for _, in := range r.installedProv[a.Name] {
		if r.installed[in.Name] == in && provides(in.Provides, a) {
			return true
		}
	}
	if len(r.exclude) > 0 {
		for _, q := range r.u.Providers(a.Name) {
			if r.exclude[q.Name] && provides(q.Provides, a) {
				return true
			}
		}
	}
	return false
}

// qualifierOK applies a relation's architecture qualifier to a candidate
// of the target architecture. ":any" needs a package that declares
// Multi-Arch: allowed (dpkg's and apt's rule) or foreign (which satisfies
// any architecture anyway); the only architecture present is the target,
// so "native" and the target's own name always match.
func (r *resolver) qualifierOK(multiArch string, a deb.Relation) bool {
	switch a.Arch {
	case "":
		return true
	case "any":
		return multiArch == "allowed" || multiArch == "foreign"
	case "native", r.arch:
		return true
	}
	return false
}

// bestReal returns the highest version of the real package a names that
// satisfies a, or nil. A name already selected at another version cannot
// be selected again: one system holds one version of a package.
func (r *resolver) bestReal(a deb.Relation) *deb.Package {
	if r.selected[a.Name] != nil {
		return nil
	}
	var best *deb.Package
	for _, q := range r.u.Packages(a.Name) {
		if q.Name == a.Name && r.eligible(q, a) && a.SatisfiedBy(q.Version) &&
			(best == nil || deb.CompareVersions(q.Version, best.Version) > 0) {
			best = q
		}
	}
	return best
}

// bestProvider ranks the packages providing a by Priority, then name, then
// version, and returns the first. apt also prefers providers already
// selected; satisfied has accepted those before this is called.
func (r *resolver) bestProvider(a deb.Relation) *deb.Package {
	var best *deb.Package
	for _, q := range r.u.Providers(a.Name) {
		if r.selected[q.Name] != nil || !r.eligible(q, a) || !provides(q.Provides, a) {
			continue
		}
		if best == nil || cmp.Or(
			cmp.Compare(priorityRank(q.Priority), priorityRank(best.Priority)),
			strings.Compare(q.Name, best.Name),
			-deb.CompareVersions(q.Version, best.Version)) < 0 {
			best = q
		}
	}
	return best
}

func (r *resolver) eligible(q *deb.Package, a deb.Relation) bool {
	return r.archEligible(q.Architecture) && r.qualifierOK(q.MultiArch, a)
}

// provides reports whether a package with these Provides satisfies a: an
// unversioned relation accepts any Provides of the name, a versioned one
// only a Provides "name (= v)" whose v satisfies it (Debian Policy 7.5).
func provides(pvs []deb.Relation, a deb.Relation) bool {
	for _, pv := range pvs {
		if pv.Name != a.Name {
			continue
		}
		if a.Op == deb.OpNone || pv.Op == deb.OpEq && a.SatisfiedBy(pv.Version) {
			return true
		}
	}
	return false
}

func priorityRank(p string) int {
	switch p {
	case "required":
		return 0
	case "important":
		return 1
	case "standard":
		return 2
	case "optional":
		return 3
	case "extra":
		return 4
	}
	return 5
}

// chain names how name came to be selected: "root -> ... -> name".
func (r *resolver) chain(name string) string {
	parts := []string{name}
	// The parent links form a tree (each package is selected once, by an
	// already-selected package), so this walk ends at a root.
	for n := r.parent[name]; n != ""; n = r.parent[n] {
		parts = append(parts, n)
	}
	slices.Reverse(parts)
	return strings.Join(parts, " -> ")
}

func formatClause(alts []deb.Relation) string {
	s := make([]string, len(alts))
	for i, a := range alts {
		s[i] = a.String()
	}
	return strings.Join(s, " | ")
}

// explain says why no alternative of a clause can be satisfied.
func (r *resolver) explain(alts []deb.Relation) string {
	if len(alts) == 1 {
		return r.explainOne(alts[0])
	}
	s := make([]string, len(alts))
	for i, a := range alts {
		s[i] = a.Name + ": " + r.explainOne(a)
	}
	return "no alternative can be satisfied (" + strings.Join(s, "; ") + ")"
}

func (r *resolver) explainOne(a deb.Relation) string {
	if q := r.selected[a.Name]; q != nil {
		return fmt.Sprintf("%s %s is already selected (%s)", q.Name, q.Version, r.chain(q.Name))
	}
	var have []string
	if in := r.installed[a.Name]; in != nil {
		have = append(have, in.Version.String()+" installed")
	}
	for _, q := range r.u.Packages(a.Name) {
		if q.Name == a.Name && r.archEligible(q.Architecture) {
			v := q.Version.String()
			if !r.qualifierOK(q.MultiArch, a) {
				v += " (Multi-Arch: " + cmp.Or(q.MultiArch, "no") + ")"
			}
			have = append(have, v)
		}
	}
	var provs []string
	for _, q := range r.u.Providers(a.Name) {
		if r.archEligible(q.Architecture) && provides(q.Provides, deb.Relation{Name: a.Name}) {
			provs = append(provs, q.Name+" "+q.Version.String())
		}
	}
	switch {
	case len(have) > 0 && len(provs) > 0:
		return fmt.Sprintf("no version satisfies it (have %s; provided by %s)", strings.Join(have, ", "), strings.Join(provs, ", "))
	case len(have) > 0:
		return fmt.Sprintf("no version satisfies it (have %s)", strings.Join(have, ", "))
	case len(provs) > 0:
		return fmt.Sprintf("no provider satisfies it (provided by %s)", strings.Join(provs, ", "))
	}
	return "not in the archive for " + r.arch
}

func (r *resolver) result() []*deb.Package {
	out := make([]*deb.Package, 0, len(r.selected))
	for _, p := range r.selected {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *deb.Package) int { return strings.Compare(a.Name, b.Name) })
	return out
}
