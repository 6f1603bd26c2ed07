package debresolve

import (
	"fmt"

	"github.com/kiln-build/kiln/internal/deb"
)

// checkConflicts reports the first Conflicts or Breaks of a selected
// package that another selected package, or an installed one, matches.
// apt would try to resolve such a clash by removing or upgrading packages;
// kiln adds files to an image and cannot remove any, so it stops instead.
// The installed packages' own Conflicts are not known (Installed does not
// carry them) and so not checked.
func (r *resolver) checkConflicts() error {
	for _, p := range r.result() {
		for _, f := range []struct{ field, verb string }{{"Conflicts", "conflicts with"}, {"Breaks", "breaks"}} {
			v, ok := p.Paragraph.Get(f.field)
			if !ok {
				continue
			}
			rels, err := deb.ParseRelations(v)
			if err != nil {
				return fmt.Errorf("package %s %s: %s: %w", p.Name, p.Version, f.field, err)
			}
			for _, alts := range rels {
				for _, a := range alts {
					if clash := r.clash(p, a); clash != "" {
						return fmt.Errorf("%s %s (%s) %s %s: %s", p.Name, p.Version, r.chain(p.Name), f.verb, a, clash)
					}
				}
			}
		}
	}
	return nil
}

// clash describes a package other than p that the Conflicts or Breaks
// relation a matches, or returns "". A package's relations never match
// itself, which is how "Provides: x, Conflicts: x" declares that it is the
// only provider of x that may be installed.
func (r *resolver) clash(p *deb.Package, a deb.Relation) string {
	if q := r.selected[a.Name]; q != nil && q != p && a.SatisfiedBy(q.Version) {
		return fmt.Sprintf("%s %s is selected too (%s)", q.Name, q.Version, r.chain(q.Name))
	}
	for _, q := range r.selectedProv[a.Name] {
		if q != p && provides(q.Provides, a) {
			return fmt.Sprintf("%s %s provides it and is selected too (%s)", q.Name, q.Version, r.chain(q.Name))
		}
	}
	if in := r.installed[a.Name]; in != nil && in.Name != p.Name && a.SatisfiedBy(in.Version) {
		return fmt.Sprintf("%s %s is installed", in.Name, in.Version)
	}
	for _, in := range r.installedProv[a.Name] {
		if r.installed[in.Name] == in && in.Name != p.Name && provides(in.Provides, a) {
			return fmt.Sprintf("%s %s provides it and is installed", in.Name, in.Version)
		}
	}
	return ""
}
