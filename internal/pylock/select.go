package pylock

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kiln-build/kiln/internal/marker"
	"github.com/kiln-build/kiln/internal/pyname"
)

// SelectOptions say what to install and for which target.
type SelectOptions struct {
	Env    marker.Env
	Extras []string // extras to activate; each must be one the lock offers
	// Groups are the dependency groups to activate; nil means the lock's
	// default-groups. In pylock.toml the default groups stand for what a
	// project installs by default (its [project].dependencies), so a
	// non-nil Groups that leaves them out leaves out the main dependencies
	// of a lock that marks them so.
	Groups []string
	// Skip names packages to leave out whatever their source, such as the
	// project's own entry, which is installed as the application.
	Skip []string
}

// Select returns, in file order, the packages the target installs, each
// with at least one wheel, following PEP 751's installation steps 1 to 5.
// A selected package that only a build could install (vcs, directory, an
// archive that is not a wheel, an sdist alone) is an error: kiln installs
// wheels only. Choosing among a package's wheels is left to the caller
// (wheel.Best), from the lock alone.
func (l *Lock) Select(opts SelectOptions) ([]*Package, error) {
	if err := checkVersion(l.LockVersion); err != nil {
		return nil, fmt.Errorf("%s: %w", l.Path, err)
	}
	extras, err := l.activate("extra", opts.Extras, l.Extras)
	if err != nil {
		return nil, err
	}
	groups := opts.Groups
	if groups == nil {
		groups = l.DefaultGroups
	}
	groupSet, err := l.activate("dependency group", groups, append(slices.Clone(l.DependencyGroups), l.DefaultGroups...))
	if err != nil {
		return nil, err
	}
	env := opts.Env
	if l.RequiresPython != "" {
		ok, err := env.PythonIn(l.RequiresPython)
		if err != nil {
			return nil, fmt.Errorf("%s: requires-python: %w", l.Path, err)
		}
		if !ok {
			return nil, fmt.Errorf("%s: requires-python %s excludes the target's Python %s", l.Path, l.RequiresPython, env.PythonFullVersion)
		}
	}
	if len(l.Environments) > 0 {
		matched := false
		for _, e := range l.Environments {
			ok, err := env.Matches(e, nil)
			if err != nil {
				return nil, fmt.Errorf("%s: environments: %w", l.Path, err)
			}
			if ok {
				matched = true
				break
			}
		}
		if !matched {
			return nil, fmt.Errorf("%s: the target (Python %s, %s %s) is in none of the lock's environments: %s",
				l.Path, env.PythonFullVersion, env.SysPlatform, env.PlatformMachine, strings.Join(l.Environments, "; "))
		}
	}

	skip := map[string]bool{}
	for _, n := range opts.Skip {
		skip[pyname.Normalize(n)] = true
	}
	var out []*Package
	chosen := map[string]*Package{}
	for _, p := range l.Packages {
		if skip[p.Name] {
			continue
		}
		m, err := marker.Parse(p.Marker)
		if err != nil {
			return nil, fmt.Errorf("%s: package %s: marker: %w", l.Path, p.label(), err)
		}
		ok, err := m.Evaluate(env, extras, groupSet)
		if err != nil {
			return nil, fmt.Errorf("%s: package %s: marker %q: %w", l.Path, p.label(), p.Marker, err)
		}
		if !ok {
			continue
		}
		if p.RequiresPython != "" {
			ok, err := env.PythonIn(p.RequiresPython)
			if err != nil {
				return nil, fmt.Errorf("%s: package %s: requires-python: %w", l.Path, p.label(), err)
			}
			if !ok {
				return nil, fmt.Errorf("%s: package %s requires Python %s; the target's is %s", l.Path, p.label(), p.RequiresPython, env.PythonFullVersion)
			}
		}
		if prev := chosen[p.Name]; prev != nil {
			return nil, fmt.Errorf("%s: packages %s and %s both apply to this target (Python %s, %s %s): their markers must leave one",
				l.Path, entryLabel(prev), entryLabel(p), env.PythonFullVersion, env.SysPlatform, env.PlatformMachine)
		}
		chosen[p.Name] = p
		if len(p.Wheels) == 0 {
			return nil, fmt.Errorf("%s: package %s: %s; kiln installs wheels only, so lock a wheel for it", l.Path, p.label(), needsBuild(p))
		}
		out = append(out, p)
	}
	return out, nil
}

// activate checks the asked-for names against those the lock offers and
// returns them as a set for marker evaluation.
func (l *Lock) activate(what string, asked, offered []string) (map[string]bool, error) {
	set := make(map[string]bool, len(asked))
	for _, n := range asked {
		norm := pyname.Normalize(n)
		if !slices.Contains(offered, norm) {
			known := strings.Join(offered, ", ")
			switch {
			case len(l.Extras)+len(l.DependencyGroups)+len(l.DefaultGroups) == 0:
				known = "none (a single-use lock: extras and groups were chosen when it was written)"
			case len(offered) == 0:
				known = "none"
			}
			return nil, fmt.Errorf("%s: %s %q is not offered by the lock; it offers: %s", l.Path, what, n, known)
		}
		set[norm] = true
	}
	return set, nil
}

// entryLabel tells two entries of one name apart.
func entryLabel(p *Package) string {
	s := p.label()
	if p.Marker != "" {
		s += " (marker " + p.Marker + ")"
	}
	if p.Source != "" {
		s += " from " + p.Source
	}
	return s
}

// needsBuild says why a package without wheels cannot be installed as is.
func needsBuild(p *Package) string {
	switch p.Kind {
	case KindVCS:
		return "its source is a version-control checkout (" + p.Source + ") that must be built"
	case KindDirectory:
		return "its source is the directory " + p.Source + ", which must be built"
	case KindArchive:
		return "its archive " + p.Source + " is not a wheel and must be built"
	case KindSdist:
		if p.Sdist != nil {
			return "only an sdist (" + p.Sdist.Filename + ") is locked, which must be built"
		}
	}
	return "it locks no wheel"
}
