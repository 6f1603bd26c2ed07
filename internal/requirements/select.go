package requirements

import (
	"fmt"
	"math/bits"
	"slices"
	"sync"

	"github.com/kiln-build/kiln/internal/marker"
	"github.com/kiln-build/kiln/internal/pep440"
)

// Environment evaluates markers for one target; marker.Env implements it.
type Environment interface {
	Matches(marker string, extras map[string]bool) (bool, error)
}

// Select returns what one target installs: the requirements whose markers
// hold in env, one per project, in file order. Entries of one project that
// both apply must have the same pin and are merged, keeping the hashes they
// share, as pip does; a constraint that applies must have the same pin, and
// its hashes, if any, narrow the requirement's. Markers are evaluated with no
// extra active, as pip does for a requirements file.
func (f *File) Select(env Environment) ([]Requirement, error) {
	var out, constraints []Requirement
	index := map[string]int{}
	for _, r := range f.Requirements {
		if r.Marker != "" {
			ok, err := env.Matches(r.Marker, nil)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %s==%s: %w", r.File, r.Line, r.Name, r.Version, err)
			}
			if !ok {
				continue
			}
		}
		if r.Constraint {
			constraints = append(constraints, r)
			continue
		}
		i, seen := index[r.Name]
		if !seen {
			if !f.Options.WheelAllowed(r.Name) {
				return nil, fmt.Errorf("%s:%d: %s==%s: --no-binary refuses its wheels, and kiln installs only wheels (it never builds an sdist)",
					r.File, r.Line, r.Name, r.Version)
			}
			r.Hashes, r.Extras = slices.Clone(r.Hashes), slices.Clone(r.Extras)
			index[r.Name] = len(out)
			out = append(out, r)
			continue
		}
		q := &out[i]
		if !samePin(q.Version, r.Version) {
			return nil, fmt.Errorf("%s:%d: %s==%s and %s==%s (%s:%d) both apply to this target, and a locked set has one version of each project",
				r.File, r.Line, r.Name, r.Version, q.Name, q.Version, q.File, q.Line)
		}
		hashes, ok := intersect(q.Hashes, r.Hashes)
		if !ok {
			return nil, fmt.Errorf("%s:%d: %s==%s has no --hash in common with %s:%d, so no file satisfies both", r.File, r.Line, r.Name, r.Version, q.File, q.Line)
		}
		q.Hashes = hashes
		for _, x := range r.Extras {
			q.Extras = appendNew(q.Extras, x)
		}
	}
	for _, c := range constraints {
		i, ok := index[c.Name]
		if !ok {
			continue
		}
		q := &out[i]
		if !samePin(q.Version, c.Version) {
			return nil, fmt.Errorf("%s:%d: %s==%s conflicts with the constraint %s==%s at %s:%d", q.File, q.Line, q.Name, q.Version, c.Name, c.Version, c.File, c.Line)
		}
		hashes, ok := intersect(q.Hashes, c.Hashes)
		if !ok {
			return nil, fmt.Errorf("%s:%d: %s==%s has no --hash in common with the constraint at %s:%d, so no file satisfies both", q.File, q.Line, q.Name, q.Version, c.File, c.Line)
		}
		q.Hashes = hashes
	}
	return out, nil
}

// samePin compares two pins as PEP 440 versions (1.0 == 1.0.0), or as text
// when either is not one (an === pin).
func samePin(a, b string) bool {
	if a == b {
		return true
	}
	va, errA := pep440.ParseVersion(a)
	vb, errB := pep440.ParseVersion(b)
	return errA == nil && errB == nil && va.Compare(vb) == 0
}

// intersect returns the hashes both lists allow, an empty list allowing any
// (a constraint without hashes); ok is false when nothing is left.
func intersect(a, b []string) (hashes []string, ok bool) {
	switch {
	case len(a) == 0:
		return b, true
	case len(b) == 0:
		return a, true
	}
	for _, h := range a {
		if slices.Contains(b, h) {
			hashes = append(hashes, h)
		}
	}
	return hashes, len(hashes) > 0
}

// witnesses are the targets kiln builds for, Linux CPython 3.6 to 3.15 at
// the first and a late micro release on both architectures (40, within the
// bits of markerInfo.holds), against which two markers are tried for
// overlap.
var witnesses = sync.OnceValue(func() []marker.Env {
	var envs []marker.Env
	for minor := 6; minor <= 15; minor++ {
		for _, micro := range []int{0, 99} {
			for _, arch := range []string{"amd64", "arm64"} {
				if env, err := marker.LinuxCPython(fmt.Sprintf("3.%d.%d", minor, micro), arch); err == nil {
					envs = append(envs, env)
				}
			}
		}
	}
	return envs
})

// markerInfo is what the duplicate check needs of an entry's marker.
type markerInfo struct {
	normal string // the marker in normal form, "" for none
	holds  uint64 // bit i is set when witnesses()[i] satisfies the marker
}

func newMarkerInfo(text string) markerInfo {
	if text == "" {
		return markerInfo{holds: ^uint64(0)}
	}
	m, err := marker.Parse(text)
	if err != nil {
		return markerInfo{normal: text}
	}
	info := markerInfo{normal: m.String()}
	for i, env := range witnesses() {
		if ok, err := m.Evaluate(env, nil, nil); err == nil && ok {
			info.holds |= 1 << i
		}
	}
	return info
}

// overlap reports whether entries with markers a and b can apply to the
// same target, and says where. Entries are exclusive only if their markers
// differ and no witness satisfies both: proving exclusion in general needs a
// marker algebra, so a pair that slips through is caught by Select for the
// target at hand.
func overlap(a, b markerInfo) (string, bool) {
	switch {
	case a.normal == "" || b.normal == "":
		return "wherever the other does (one has no marker)", true
	case a.normal == b.normal:
		return "under the same marker", true
	}
	if both := a.holds & b.holds; both != 0 {
		env := witnesses()[bits.TrailingZeros64(both)]
		return fmt.Sprintf("to Python %s on linux %s", env.PythonFullVersion, env.PlatformMachine), true
	}
	return "", false
}
