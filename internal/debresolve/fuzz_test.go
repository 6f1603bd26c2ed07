package debresolve

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/deb"
)

// FuzzResolve resolves over a universe read from the fuzzer's deb822 text:
// Resolve must return, never panic or loop, and what it returns must be
// closed under Depends and read back the same through Pinned.
func FuzzResolve(f *testing.F) {
	universe, err := os.ReadFile("testdata/universe.txt")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(universe, "app-versioned scripting init-system-helpers usr-is-merged", "perl-base")
	f.Add(universe, "webapp pyapp predep", "")
	f.Add([]byte("Package: a\nVersion: 1\nArchitecture: all\nDepends: b | c, v (>= 1)\n\n"+
		"Package: b\nVersion: 1\nArchitecture: amd64\nPre-Depends: a\nProvides: v (= 2)\nConflicts: c\n\n"+
		"Package: c\nVersion: 1\nArchitecture: all\nEssential: yes\nDepends: a:any\n"), "a c", "b")
	f.Fuzz(func(t *testing.T, data []byte, roots, exclude string) {
		if len(data) > 1<<16 {
			return
		}
		ps, _ := readPackages(bytes.NewReader(data), true)
		u := newUniverse(ps)
		// Essential packages play the installed system, so that the
		// fuzzer reaches upgrades and installed Provides.
		var installed []Installed
		for _, p := range ps {
			if p.Essential {
				installed = append(installed, Installed{Name: p.Name, Arch: p.Architecture, Source: p.Source, Version: p.Version, Provides: p.Provides})
			}
		}
		opts := Options{Arch: "amd64", Exclude: strings.Fields(exclude)}
		got, err := Resolve(u, strings.Fields(roots), installed, opts)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		checkClosed(t, u, got, installed, opts)
		pins := make(map[string]string, len(got))
		for _, p := range got {
			pins[p.Name] = p.Version.String()
		}
		back, err := Pinned(u, pins, opts)
		if err != nil {
			t.Fatalf("Pinned of a resolution: %v", err)
		}
		if len(back) != len(got) {
			t.Fatalf("Pinned returned %d packages, Resolve %d", len(back), len(got))
		}
		for i := range got {
			if back[i].Name != got[i].Name || deb.CompareVersions(back[i].Version, got[i].Version) != 0 {
				t.Fatalf("Pinned returned %s %s, Resolve %s %s", back[i].Name, back[i].Version, got[i].Name, got[i].Version)
			}
		}
	})
}
