package tags

import (
	"os"
	"strings"
	"testing"
)

func readVector(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

// The vectors were generated with packaging's cpython_tags + compatible_tags
// for CPython 3.12 on glibc 2.36 (python-packaging.md §5.2).
func TestSupportedMatchesPackaging(t *testing.T) {
	for _, tc := range []struct {
		arch, vector string
		want         int
	}{
		{"x86_64", "tags_cp312_glibc236_x86_64.txt", 987},
		{"amd64", "tags_cp312_glibc236_x86_64.txt", 987},
		{"aarch64", "tags_cp312_glibc236_aarch64.txt", 609},
		{"arm64", "tags_cp312_glibc236_aarch64.txt", 609},
	} {
		t.Run(tc.arch, func(t *testing.T) {
			want := readVector(t, tc.vector)
			if len(want) != tc.want {
				t.Fatalf("vector has %d tags, want %d", len(want), tc.want)
			}
			got, err := Supported(Target{PythonMinor: "3.12", Arch: tc.arch, Libc: "glibc", LibcVersion: "2.36"})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d tags, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i].String() != want[i] {
					t.Fatalf("tag %d = %s, want %s", i, got[i], want[i])
				}
			}
		})
	}
}

func TestMuslAndGlibcFamiliesAreExclusive(t *testing.T) {
	musl, err := Supported(Target{PythonMinor: "3.12", Arch: "x86_64", Libc: "musl", LibcVersion: "1.2"})
	if err != nil {
		t.Fatal(err)
	}
	glibc, err := Supported(Target{PythonMinor: "3.12", Arch: "x86_64", Libc: "glibc", LibcVersion: "2.36"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range musl {
		if strings.HasPrefix(tag.Platform, "manylinux") {
			t.Errorf("musl target lists %s", tag)
		}
	}
	for _, tag := range glibc {
		if strings.HasPrefix(tag.Platform, "musllinux") {
			t.Errorf("glibc target lists %s", tag)
		}
	}
	// packaging's _musllinux.platform_tags: every minor down to 0, then linux_ARCH.
	want := []string{"cp312-cp312-musllinux_1_2_x86_64", "cp312-cp312-musllinux_1_1_x86_64", "cp312-cp312-musllinux_1_0_x86_64", "cp312-cp312-linux_x86_64", "cp312-abi3-musllinux_1_2_x86_64"}
	for i, w := range want {
		if musl[i].String() != w {
			t.Errorf("musl tag %d = %s, want %s", i, musl[i], w)
		}
	}
	if last := musl[len(musl)-1].String(); last != "py30-none-any" {
		t.Errorf("last musl tag = %s", last)
	}
}

func TestLegacyAliasesOnlyWhereDefined(t *testing.T) {
	// aarch64 stops at glibc 2.17, so manylinux1/2010 never appear there.
	got, err := Supported(Target{PythonMinor: "3.11", Arch: "aarch64", Libc: "glibc", LibcVersion: "2.17"})
	if err != nil {
		t.Fatal(err)
	}
	plats := map[string]bool{}
	for _, tag := range got {
		plats[tag.Platform] = true
	}
	for p, want := range map[string]bool{
		"manylinux_2_17_aarch64": true, "manylinux2014_aarch64": true, "linux_aarch64": true,
		"manylinux_2_16_aarch64": false, "manylinux2010_aarch64": false, "manylinux_2_18_aarch64": false,
	} {
		if plats[p] != want {
			t.Errorf("platform %s listed = %v, want %v", p, plats[p], want)
		}
	}
	if len(plats) != 4 { // the three above and "any"
		t.Errorf("got %d platforms, want 4: %v", len(plats), plats)
	}
}

func TestSupportedRejectsBadTargets(t *testing.T) {
	for _, tc := range []Target{
		{PythonMinor: "2.7", Arch: "x86_64", Libc: "glibc", LibcVersion: "2.36"},
		{PythonMinor: "3", Arch: "x86_64", Libc: "glibc", LibcVersion: "2.36"},
		{PythonMinor: "3.12.1", Arch: "x86_64", Libc: "glibc", LibcVersion: "2.36"},
		{PythonMinor: "3.12", Arch: "sparc", Libc: "glibc", LibcVersion: "2.36"},
		{PythonMinor: "3.12", Arch: "x86_64", Libc: "", LibcVersion: "2.36"},
		{PythonMinor: "3.12", Arch: "x86_64", Libc: "glibc", LibcVersion: "2.36-9+deb12u4"},
		{PythonMinor: "3.12", Arch: "x86_64", Libc: "glibc", LibcVersion: "3.0"},
		{PythonMinor: "3.12", Arch: "x86_64", Libc: "glibc", LibcVersion: "2.99999"},
	} {
		if _, err := Supported(tc); err == nil {
			t.Errorf("Supported(%+v) succeeded", tc)
		}
		if _, err := NewRanker(tc); err == nil {
			t.Errorf("NewRanker(%+v) succeeded", tc)
		}
	}
}

func TestRankAndWhy(t *testing.T) {
	x86 := Target{PythonMinor: "3.12", Arch: "amd64", Libc: "glibc", LibcVersion: "2.36"}
	r, err := NewRanker(x86)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Target().Arch; got != "x86_64" {
		t.Errorf("normalised arch = %q", got)
	}
	tag := func(s string) Tag {
		p := strings.SplitN(s, "-", 3)
		return Tag{p[0], p[1], p[2]}
	}
	for _, tc := range []struct {
		tags []string
		rank int
		ok   bool
		why  string
	}{
		{[]string{"cp312-cp312-manylinux_2_17_x86_64", "cp312-cp312-manylinux2014_x86_64"}, 19, true, ""},
		{[]string{"CP312-CP312-MANYLINUX_2_28_X86_64"}, 8, true, ""},
		{[]string{"py3-none-any"}, 974, true, ""},
		{nil, 0, false, "no tags"},
		{[]string{"py2-none-any"}, 0, false, "python tag py2 does not run on CPython 3.12"},
		{[]string{"cp313-abi3-manylinux_2_17_x86_64"}, 0, false, "python tag cp313"},
		{[]string{"cp312-cp312d-manylinux_2_17_x86_64"}, 0, false, "ABI tag cp312d"},
		{[]string{"cp312-cp312-win_amd64"}, 0, false, "platform win_amd64 is not Linux"},
		{[]string{"cp312-cp312-manylinux_2_17_aarch64"}, 0, false, "is for aarch64, target is x86_64"},
		{[]string{"cp312-cp312-musllinux_1_2_x86_64"}, 0, false, "needs musl, target uses glibc"},
		{[]string{"cp312-cp312-manylinux_2_39_x86_64"}, 0, false, "needs glibc 2.39, target has 2.36"},
		{[]string{"cp312-cp312-any"}, 0, false, "not a valid combination"},
	} {
		var tags []Tag
		for _, s := range tc.tags {
			tags = append(tags, tag(s))
		}
		rank, ok := r.Rank(tags)
		if rank != tc.rank || ok != tc.ok {
			t.Errorf("Rank(%v) = %d, %v; want %d, %v", tc.tags, rank, ok, tc.rank, tc.ok)
		}
		why := r.Why(tags)
		if tc.why == "" && why != "" || !strings.Contains(why, tc.why) {
			t.Errorf("Why(%v) = %q, want it to contain %q", tc.tags, why, tc.why)
		}
	}

	musl, err := NewRanker(Target{PythonMinor: "3.12", Arch: "x86_64", Libc: "musl", LibcVersion: "1.1"})
	if err != nil {
		t.Fatal(err)
	}
	for tagStr, want := range map[string]string{
		"cp312-cp312-manylinux_2_17_x86_64": "needs glibc, target uses musl",
		"cp312-cp312-musllinux_1_2_x86_64":  "needs musl 1.2, target has 1.1",
	} {
		if why := musl.Why([]Tag{tag(tagStr)}); !strings.Contains(why, want) {
			t.Errorf("musl Why(%s) = %q, want %q", tagStr, why, want)
		}
	}
}
