package debarchive

import (
	"slices"
	"sort"

	"github.com/kiln-build/kiln/internal/deb"
)

// Index is the merged, verified package lists of a suite and its -updates
// and -security suites for one architecture.
type Index struct {
	Arch     string
	Suites   []string   // as asked for, e.g. bookworm, bookworm-updates, bookworm-security
	Releases []*Release // Releases[i] is the verified InRelease of Suites[i]

	byName   map[string][]*deb.Package // highest version first
	provides map[string][]*deb.Package
	from     map[*deb.Package]int // index into Suites
}

// build merges the suites' packages. One version of a package found in
// several suites (a security update later folded into a point release) is
// kept once, from the first suite listing it: the files are the same.
func (ix *Index) build(found [][]*deb.Package) {
	ix.byName = map[string][]*deb.Package{}
	ix.from = map[*deb.Package]int{}
	for i, ps := range found {
		for _, p := range ps {
			if slices.ContainsFunc(ix.byName[p.Name], func(q *deb.Package) bool {
				return q.Architecture == p.Architecture && q.Version == p.Version
			}) {
				continue
			}
			ix.byName[p.Name] = append(ix.byName[p.Name], p)
			ix.from[p] = i
		}
	}
	names := make([]string, 0, len(ix.byName))
	for n, ps := range ix.byName {
		names = append(names, n)
		// Stable, so equal versions (an arch:all and an arch package)
		// keep suite order.
		slices.SortStableFunc(ps, func(a, b *deb.Package) int {
			return deb.CompareVersions(b.Version, a.Version)
		})
	}
	sort.Strings(names)
	ix.provides = map[string][]*deb.Package{}
	for _, n := range names {
		for _, p := range ix.byName[n] {
			for _, v := range p.Provides {
				ps := ix.provides[v.Name]
				if len(ps) > 0 && ps[len(ps)-1] == p {
					continue // a package providing one name twice, with two versions
				}
				ix.provides[v.Name] = append(ps, p)
			}
		}
	}
}

// Packages returns every version of the named package for the index's
// architecture or "all", across the suites, highest version (in dpkg's
// order) first.
func (ix *Index) Packages(name string) []*deb.Package {
	return slices.Clone(ix.byName[name])
}

// Providers returns the packages whose Provides names virtual, by package
// name and then highest version first. The caller checks any version
// constraint against each Provides entry.
func (ix *Index) Providers(virtual string) []*deb.Package {
	return slices.Clone(ix.provides[virtual])
}

// URL is where p is downloaded from: the mirror of the suite that listed it
// and its pool Filename. It is "" for a package that is not from ix.
func (ix *Index) URL(p *deb.Package) string {
	i, ok := ix.from[p]
	if !ok {
		return ""
	}
	return ix.Releases[i].Mirror + "/" + p.Filename
}

// Suite names the suite that listed p, as it was asked for
// ("bookworm-security"); "" for a package that is not from ix.
func (ix *Index) Suite(p *deb.Package) string {
	i, ok := ix.from[p]
	if !ok {
		return ""
	}
	return ix.Suites[i]
}
