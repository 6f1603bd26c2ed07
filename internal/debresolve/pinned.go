package debresolve

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kiln-build/kiln/internal/deb"
)

// Pinned returns exactly the packages of pins (name to version, as
// kiln.lock records a previous Resolve), sorted by name, without resolving
// anything: the lock is the resolution. Every pin the universe no longer
// has, because the archive dropped a superseded version, is reported in one
// error, with the versions it has now, so the user knows to refresh the lock.
func Pinned(u Universe, pins map[string]string, opts Options) ([]*deb.Package, error) {
	if opts.Arch == "" {
		return nil, errNoArch
	}
	names := make([]string, 0, len(pins))
	for n := range pins {
		names = append(names, n)
	}
	slices.Sort(names)
	var out []*deb.Package
	var errs []error
	for _, name := range names {
		want, err := deb.ParseVersion(pins[name])
		if err != nil {
			errs = append(errs, fmt.Errorf("pinned %s: %w", name, err))
			continue
		}
		var have []string
		var found *deb.Package
		for _, p := range u.Packages(name) {
			if p.Name != name || (p.Architecture != opts.Arch && p.Architecture != "all") {
				continue
			}
			if deb.CompareVersions(p.Version, want) == 0 {
				found = p
				break
			}
			have = append(have, p.Version.String())
		}
		switch {
		case found != nil:
			out = append(out, found)
		case len(have) > 0:
			errs = append(errs, fmt.Errorf("pinned %s %s is no longer in the archive for %s (it has %s)",
				name, want, opts.Arch, strings.Join(have, ", ")))
		default:
			errs = append(errs, fmt.Errorf("pinned %s %s is no longer in the archive for %s (no version at all)",
				name, want, opts.Arch))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}
