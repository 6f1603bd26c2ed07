package debresolve

import (
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/deb"
)

// memUniverse is a Universe over packages held in memory, as the real
// index will be.
type memUniverse struct {
	pkgs  map[string][]*deb.Package
	provs map[string][]*deb.Package
}

func newUniverse(ps []*deb.Package) *memUniverse {
	u := &memUniverse{pkgs: make(map[string][]*deb.Package), provs: make(map[string][]*deb.Package)}
	for _, p := range ps {
		u.pkgs[p.Name] = append(u.pkgs[p.Name], p)
		for _, pv := range p.Provides {
			u.provs[pv.Name] = append(u.provs[pv.Name], p)
		}
	}
	for _, vs := range u.pkgs {
		slices.SortStableFunc(vs, func(a, b *deb.Package) int { return deb.CompareVersions(b.Version, a.Version) })
	}
	return u
}

func (u *memUniverse) Packages(name string) []*deb.Package     { return u.pkgs[name] }
func (u *memUniverse) Providers(virtual string) []*deb.Package { return u.provs[virtual] }

// readPackages parses every stanza of a Packages file or the test
// universe, skipping those that do not parse when lenient (the fuzzer's
// input is mostly not valid).
func readPackages(r io.Reader, lenient bool) ([]*deb.Package, error) {
	var ps []*deb.Package
	dr := deb.NewReader(r)
	for {
		para, err := dr.Next()
		if err == io.EOF {
			return ps, nil
		}
		if err != nil {
			return ps, err
		}
		p, err := deb.PackageFromParagraph(para)
		if err != nil {
			if lenient {
				continue
			}
			return nil, err
		}
		ps = append(ps, p)
	}
}

func testUniverse(t *testing.T) *memUniverse {
	t.Helper()
	f, err := os.Open("testdata/universe.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ps, err := readPackages(f, false)
	if err != nil {
		t.Fatal(err)
	}
	return newUniverse(ps)
}

func mustVersion(t *testing.T, s string) deb.Version {
	t.Helper()
	v, err := deb.ParseVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// pinsOf renders a result as "name=version" in name order.
func pinsOf(ps []*deb.Package) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Name + "=" + p.Version.String()
	}
	return strings.Join(s, " ")
}

func namesOf(ps []*deb.Package) []string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Name
	}
	return s
}

// checkClosed verifies what any successful resolution must give: names
// sorted and unique, every package of the target architecture or all, and
// every Pre-Depends and Depends clause of every package met by the result,
// the installed set or an excluded package.
func checkClosed(t *testing.T, u Universe, got []*deb.Package, installed []Installed, opts Options) {
	t.Helper()
	have := make(map[string][]deb.Relation) // name -> a Provides-like list incl. itself
	versions := make(map[string]deb.Version)
	for i, p := range got {
		if i > 0 && got[i-1].Name >= p.Name {
			t.Fatalf("result not sorted and unique at %s", p.Name)
		}
		if p.Architecture != opts.Arch && p.Architecture != "all" {
			t.Fatalf("%s has architecture %s, want %s or all", p.Name, p.Architecture, opts.Arch)
		}
		versions[p.Name] = p.Version
		for _, pv := range p.Provides {
			have[pv.Name] = append(have[pv.Name], pv)
		}
	}
	for _, in := range installed {
		if _, upgraded := versions[in.Name]; upgraded || (in.Arch != "" && in.Arch != opts.Arch && in.Arch != "all") {
			continue
		}
		versions[in.Name] = in.Version
		for _, pv := range in.Provides {
			have[pv.Name] = append(have[pv.Name], pv)
		}
	}
	excluded := func(a deb.Relation) bool {
		if slices.Contains(opts.Exclude, a.Name) {
			return true
		}
		for _, q := range u.Providers(a.Name) {
			if slices.Contains(opts.Exclude, q.Name) && provides(q.Provides, a) {
				return true
			}
		}
		return false
	}
	for _, p := range got {
		for _, alts := range slices.Concat(p.PreDepends, p.Depends) {
			ok := false
			for _, a := range alts {
				if v, found := versions[a.Name]; found && a.SatisfiedBy(v) || provides(have[a.Name], a) || excluded(a) {
					ok = true
					break
				}
			}
			if !ok {
				t.Fatalf("%s: clause %s is not met by the result", p.Name, formatClause(alts))
			}
		}
	}
}
