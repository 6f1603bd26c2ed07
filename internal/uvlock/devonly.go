package uvlock

import (
	"sort"

	"github.com/kiln-build/kiln/internal/pyname"
)

// DevOnly returns the names of the third-party packages that only the
// dependency groups not in keep bring in: what a production install of the
// project never contains, so that finding one in an image is a mistake.
//
// Markers are all taken as true and every extra is followed on the
// production side, so a package that any platform or extra needs in
// production is never reported: the answer holds for every target.
func (l *Lock) DevOnly(keep []string) []string {
	idx := l.index()
	s := &selector{lock: l, idx: idx}
	_ = s.setRoots(false) // with no root there is nothing to compare; both walks are empty
	kept := map[string]bool{}
	for _, g := range keep {
		kept[pyname.Normalize(g)] = true
	}

	reach := func(start []*Package) map[*Package]bool {
		seen := map[*Package]bool{}
		queue := append([]*Package(nil), start...)
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			if seen[p] {
				continue
			}
			seen[p] = true
			deps := append([]Dependency(nil), p.Dependencies...)
			for _, x := range p.OptionalDependencies {
				deps = append(deps, x...)
			}
			for _, d := range deps {
				queue = append(queue, idx[d.Name]...)
			}
		}
		return seen
	}
	byName := func(deps []Dependency) []*Package {
		var out []*Package
		for _, d := range deps {
			out = append(out, idx[d.Name]...)
		}
		return out
	}
	byRequirement := func(reqs []Requirement) []*Package {
		var out []*Package
		for _, r := range reqs {
			out = append(out, idx[r.Name]...)
		}
		return out
	}

	prodStart := append([]*Package(nil), s.roots...)
	prodStart = append(prodStart, byRequirement(l.Requirements)...)
	var devStart []*Package
	for _, r := range s.roots {
		for g, deps := range r.DevDependencies {
			if kept[g] {
				prodStart = append(prodStart, byName(deps)...)
			} else {
				devStart = append(devStart, byName(deps)...)
			}
		}
	}
	for g, reqs := range l.DependencyGroups {
		if kept[g] {
			prodStart = append(prodStart, byRequirement(reqs)...)
		} else {
			devStart = append(devStart, byRequirement(reqs)...)
		}
	}

	prod := map[string]bool{}
	for p := range reach(prodStart) {
		prod[p.Name] = true
	}
	seen := map[string]bool{}
	var out []string
	for p := range reach(devStart) {
		if prod[p.Name] || s.members[p.Name] || isWorkspaceKind(p.Source.Kind) || seen[p.Name] {
			continue
		}
		seen[p.Name] = true
		out = append(out, p.Name)
	}
	sort.Strings(out)
	return out
}
