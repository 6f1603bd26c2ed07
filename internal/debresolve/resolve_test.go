package debresolve

import (
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/deb"
)

func TestResolve(t *testing.T) {
	u := testUniverse(t)
	libc := func(v string) Installed {
		return Installed{Name: "libc6", Arch: "amd64", Version: mustVersion(t, v)}
	}
	const libcDeps = "gcc-12-base=12.2.0-14 libc6=2.36-9+deb12u10 libgcc-s1=12.2.0-14"
	for _, tc := range []struct {
		name      string
		roots     []string
		installed []Installed
		exclude   []string
		arch      string
		want      string // "name=version ..." in name order
		wantErr   string // exact error when set
	}{{
		name:  "highest version that satisfies each constraint",
		roots: []string{"app-versioned"},
		want:  "app-versioned=1.0 gcc-12-base=12.2.0-14 libbar=2.5 libc6=2.36-9+deb12u10 libfoo=3.0 libgcc-s1=12.2.0-14",
	}, {
		name:  "arm64 takes that architecture's builds and arch all",
		roots: []string{"archapp"},
		arch:  "arm64",
		want:  "archapp=1 gcc-12-base=12.2.0-14 libarm=1 libc6=2.36-9+deb12u10 libgcc-s1=12.2.0-14",
	}, {
		name:  "a cycle, through Pre-Depends and onto itself, ends",
		roots: []string{"cyc-a"},
		want:  "cyc-a=1 cyc-b=1",
	}, {
		name:  "first satisfiable alternative: media-types, not mime-support and perl",
		roots: []string{"mailer"},
		want:  "mailer=1 media-types=10.0.0",
	}, {
		name:  "alternatives that cannot be met are passed over",
		roots: []string{"alt-fallback"},
		want:  "alt-fallback=1 libbar=3.0",
	}, {
		name:  "virtual provider by Priority: mawk (required) over gawk",
		roots: []string{"scripting"},
		want:  "mawk=1.3.4.20200120-3.1 scripting=1",
	}, {
		name:  "a root provider is used instead of ranking",
		roots: []string{"scripting", "gawk"},
		want:  "gawk=1:5.2.1-2 scripting=1",
	}, {
		name:  "without usr-is-merged as a root, usrmerge (and perl) come in",
		roots: []string{"init-system-helpers"},
		want:  "init-system-helpers=1.65.2 perl=5.36.0-7+deb12u1 perl-base=5.36.0-7+deb12u1 usrmerge=37~deb12u1",
	}, {
		name:  "usr-is-merged as a root, after the package that needs it",
		roots: []string{"init-system-helpers", "usr-is-merged"},
		want:  "init-system-helpers=1.65.2 perl-base=5.36.0-7+deb12u1 usr-is-merged=37~deb12u1",
	}, {
		name:  "Pre-Depends are followed before Depends",
		roots: []string{"predep"},
		want:  "predep=1 small-mta=1.0",
	}, {
		name:  "without the Pre-Depends the important provider wins",
		roots: []string{"nopredep"},
		want:  "big-mta=4.96 nopredep=1",
	}, {
		name:  "a versioned dependency on a virtual needs a versioned Provides",
		roots: []string{"abiuser"},
		want:  "abiuser=1 foo-abi-two=1",
	}, {
		name:  "an unversioned one takes any, by name at equal Priority",
		roots: []string{"abiany"},
		want:  "abiany=1 foo-abi-one=1",
	}, {
		name:  ":any is met by Multi-Arch: allowed",
		roots: []string{"pyapp"},
		want:  libcDeps + " pyapp=1 python3=3.11.2-1+b1",
	}, {
		name:    ":any is not met by a package without Multi-Arch",
		roots:   []string{"badany"},
		wantErr: "badany: depends on libnoma:any: no version satisfies it (have 1 (Multi-Arch: no))",
	}, {
		name:      "installed packages satisfy dependencies",
		roots:     []string{"webapp"},
		installed: []Installed{libc("2.36-9+deb12u10"), {Name: "libssl3", Version: mustVersion(t, "3.0.15-1~deb12u1")}},
		want:      "libpq5=15.10-0+deb12u1 webapp=1",
	}, {
		name:      "an installed package too old is upgraded",
		roots:     []string{"pyapp"},
		installed: []Installed{libc("2.31-13"), {Name: "gcc-12-base", Arch: "amd64", Version: mustVersion(t, "12.2.0-14")}},
		want:      "libc6=2.36-9+deb12u10 libgcc-s1=12.2.0-14 pyapp=1 python3=3.11.2-1+b1",
	}, {
		name:      "installed packages of another architecture do not count",
		roots:     []string{"pyapp"},
		installed: []Installed{{Name: "libc6", Arch: "i386", Version: mustVersion(t, "2.36-9+deb12u10")}},
		want:      libcDeps + " pyapp=1 python3=3.11.2-1+b1",
	}, {
		name:      "an installed provider satisfies a virtual",
		roots:     []string{"scripting"},
		installed: []Installed{{Name: "busybox", Arch: "amd64", Version: mustVersion(t, "1.35"), Provides: []deb.Relation{{Name: "awk"}}}},
		want:      "scripting=1",
	}, {
		name:      "an installed root at the newest version adds nothing",
		roots:     []string{"libfoo"},
		installed: []Installed{{Name: "libfoo", Arch: "amd64", Version: mustVersion(t, "3.0")}},
		want:      "",
	}, {
		name:      "an installed root at an older version is upgraded",
		roots:     []string{"libfoo"},
		installed: []Installed{{Name: "libfoo", Arch: "amd64", Version: mustVersion(t, "2.1")}},
		want:      "libfoo=3.0",
	}, {
		name:  "installed packages of the same source follow to the same source version",
		roots: []string{"libtls1"},
		installed: []Installed{
			{Name: "tls-tools", Arch: "amd64", Source: "tls", Version: mustVersion(t, "1.0")},
			{Name: "tls-doc", Arch: "all", Source: "tls", Version: mustVersion(t, "1.0")},
			{Name: "tls-extra", Arch: "amd64", Source: "tls", Version: mustVersion(t, "1.0")},
			{Name: "libbar", Arch: "all", Version: mustVersion(t, "1.0")},
		},
		want: "libtls1=2.0 tls-doc=2.0+b1 tls-tools=2.0",
	}, {
		name:    "excluded packages count as installed at any version",
		roots:   []string{"perlish", "mime-support"},
		exclude: []string{"perl-base", "perl"},
		want:    "libfoo=3.0 mailcap=3.70+nmu1 mime-support=3.66 perlish=1",
	}, {
		name:    "an excluded provider satisfies the virtual",
		roots:   []string{"scripting"},
		exclude: []string{"mawk"},
		want:    "scripting=1",
	}, {
		name:    "a root wins over its exclusion",
		roots:   []string{"perl"},
		exclude: []string{"perl"},
		want:    "perl=5.36.0-7+deb12u1 perl-base=5.36.0-7+deb12u1",
	}, {
		name:  "a virtual root with one provider",
		roots: []string{"onlyvirt"},
		want:  "onlyone=2",
	}, {
		name:    "a virtual root with several providers",
		roots:   []string{"awk"},
		wantErr: "awk: virtual package provided by gawk, mawk, original-awk; name one of them",
	}, {
		name:    "an unknown root",
		roots:   []string{"nope"},
		wantErr: "nope: not in the archive for amd64",
	}, {
		name:    "a root not built for the architecture",
		roots:   []string{"libarm"},
		wantErr: "libarm: not in the archive for amd64",
	}, {
		name:    "unsatisfiable, naming the chain from the root",
		roots:   []string{"webapp"},
		wantErr: "webapp -> libpq5: depends on libssl3 (>= 3.0.0): no version satisfies it (have 1.1)",
	}, {
		name:    "a dependency missing for the architecture",
		roots:   []string{"archapp"},
		wantErr: "archapp: depends on libarm: not in the archive for amd64",
	}, {
		name:    "one version per package: the one already selected is kept",
		roots:   []string{"app-versioned", "pin-old"},
		wantErr: "pin-old: depends on libfoo (= 1.0): libfoo 3.0 is already selected (app-versioned -> libfoo)",
	}, {
		name:    "no alternative at all",
		roots:   []string{"alt-none"},
		arch:    "arm64",
		wantErr: "alt-none: depends on libarm (>= 2) | no-such-thing: no alternative can be satisfied (libarm: no version satisfies it (have 1); no-such-thing: not in the archive for arm64)",
	}, {
		name:    "Conflicts between two selected packages",
		roots:   []string{"big-mta", "small-mta"},
		wantErr: "big-mta 4.96 (big-mta) conflicts with mail-transport-agent: small-mta 1.0 provides it and is selected too (small-mta)",
	}, {
		name:  "a package's Conflicts never match itself",
		roots: []string{"small-mta"},
		want:  "small-mta=1.0",
	}, {
		name:  "Breaks of an older version do not match a newer one",
		roots: []string{"breaker", "libfoo"},
		want:  "breaker=1 libfoo=3.0",
	}, {
		name:      "Breaks against an installed package",
		roots:     []string{"breaker"},
		installed: []Installed{{Name: "libfoo", Arch: "amd64", Version: mustVersion(t, "2.1")}},
		wantErr:   "breaker 1 (breaker) breaks libfoo (<< 3.0): libfoo 2.1 is installed",
	}, {
		name:      "an installed package that is not upgraded cannot break anything",
		roots:     []string{"libc6-old-user"},
		installed: []Installed{libc("2.36-9+deb12u4")},
		// libc6 (>= any) is already met: nothing upgrades it to the
		// version that breaks libc6-old-user.
		want: "libc6-old-user=1",
	}, {
		name:    "Breaks between selected packages, through the chain",
		roots:   []string{"libc6-old-user", "libc6"},
		wantErr: "libc6 2.36-9+deb12u10 (libc6) breaks libc6-old-user (<< 2): libc6-old-user 1 is selected too (libc6-old-user)",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{Arch: tc.arch, Exclude: tc.exclude}
			if opts.Arch == "" {
				opts.Arch = "amd64"
			}
			got, err := Resolve(u, tc.roots, tc.installed, opts)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error = %v\nwant    %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := pinsOf(got); s != tc.want {
				t.Errorf("got  %s\nwant %s", s, tc.want)
			}
			checkClosed(t, u, got, tc.installed, opts)
		})
	}
}

func TestNoArch(t *testing.T) {
	u := testUniverse(t)
	if _, err := Resolve(u, []string{"libfoo"}, nil, Options{}); err == nil {
		t.Error("Resolve without an architecture succeeded")
	}
	if _, err := Pinned(u, map[string]string{"libfoo": "3.0"}, Options{}); err == nil {
		t.Error("Pinned without an architecture succeeded")
	}
}

func TestResolveRejectsRestrictionLists(t *testing.T) {
	u := newUniverse([]*deb.Package{{
		Name: "odd", Version: mustVersion(t, "1"), Architecture: "all",
		Depends: [][]deb.Relation{{{Name: "libfoo", Archs: []string{"amd64"}}}},
	}})
	_, err := Resolve(u, []string{"odd"}, nil, Options{Arch: "amd64"})
	if err == nil || !strings.Contains(err.Error(), "odd: depends on libfoo [amd64]: architecture and build-profile restrictions") {
		t.Fatalf("error = %v", err)
	}
}

func TestPinned(t *testing.T) {
	u := testUniverse(t)
	got, err := Pinned(u, map[string]string{"libfoo": "2.1", "libc6": "2.36-9+deb12u4", "libbar": "3.0"}, Options{Arch: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	if s, want := pinsOf(got), "libbar=3.0 libc6=2.36-9+deb12u4 libfoo=2.1"; s != want {
		t.Errorf("got  %s\nwant %s", s, want)
	}
	// The pinned libc6 must be the amd64 build, not the arm64 one.
	if got[1].Architecture != "amd64" {
		t.Errorf("libc6 architecture = %s", got[1].Architecture)
	}

	_, err = Pinned(u, map[string]string{"libfoo": "2.0", "libfoo-gone": "1", "libbar": "3.0", "bad": "x y"}, Options{Arch: "amd64"})
	want := strings.Join([]string{
		`pinned bad: version "x y": embedded whitespace`,
		"pinned libfoo 2.0 is no longer in the archive for amd64 (it has 3.0, 2.1, 1.0)",
		"pinned libfoo-gone 1 is no longer in the archive for amd64 (no version at all)",
	}, "\n")
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant    %s", err, want)
	}
}
