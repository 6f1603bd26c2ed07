package wheel

import (
	"reflect"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/pyname"
	"github.com/kiln-build/kiln/internal/tags"
)

func TestParseFilename(t *testing.T) {
	tag := func(s string) tags.Tag {
		p := strings.SplitN(s, "-", 3)
		return tags.Tag{Python: p[0], ABI: p[1], Platform: p[2]}
	}
	for _, tc := range []struct {
		in                   string
		name, version, build string
		tags                 []string
		norm                 string
	}{
		// python-packaging.md §9.2 filename parse vectors.
		{"foo-1.0-1-py3-none-any.whl", "foo", "1.0", "1", []string{"py3-none-any"}, "foo"},
		{"six-1.16.0-py2.py3-none-any.whl", "six", "1.16.0", "", []string{"py2-none-any", "py3-none-any"}, "six"},
		{"torch-2.4.0%2Bcpu-cp312-cp312-linux_x86_64.whl", "torch", "2.4.0+cpu", "", []string{"cp312-cp312-linux_x86_64"}, "torch"},
		{"torch-2.4.0+cpu-cp312-cp312-linux_x86_64.whl", "torch", "2.4.0+cpu", "", []string{"cp312-cp312-linux_x86_64"}, "torch"},
		{"MarkupSafe-3.0.2-cp313-cp313t-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "MarkupSafe", "3.0.2", "",
			[]string{"cp313-cp313t-manylinux_2_17_x86_64", "cp313-cp313t-manylinux2014_x86_64"}, "markupsafe"},
		{"black-26.3.1-cp312-cp312-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl", "black", "26.3.1", "",
			[]string{"cp312-cp312-manylinux2014_x86_64", "cp312-cp312-manylinux_2_17_x86_64", "cp312-cp312-manylinux_2_28_x86_64"}, "black"},
		{"zope.interface-7.2-cp312-CP312-Manylinux_2_17_X86_64.whl", "zope.interface", "7.2", "", []string{"cp312-cp312-manylinux_2_17_x86_64"}, "zope-interface"},
		{"foo_bar-1.0-py2.py3-none-any.linux_x86_64.whl", "foo_bar", "1.0", "",
			[]string{"py2-none-any", "py2-none-linux_x86_64", "py3-none-any", "py3-none-linux_x86_64"}, "foo-bar"},
		{"mkl_fft-1.3.6-58-cp310-cp310-manylinux2014_x86_64.whl", "mkl_fft", "1.3.6", "58", []string{"cp310-cp310-manylinux2014_x86_64"}, "mkl-fft"},
	} {
		f, err := ParseFilename(tc.in)
		if err != nil {
			t.Errorf("ParseFilename(%q): %v", tc.in, err)
			continue
		}
		var want []tags.Tag
		for _, s := range tc.tags {
			want = append(want, tag(s))
		}
		if f.Name != tc.name || f.Version != tc.version || f.Build != tc.build || !reflect.DeepEqual(f.Tags, want) || f.NormalizedName() != tc.norm {
			t.Errorf("ParseFilename(%q) = %+v (normalized %q)", tc.in, f, f.NormalizedName())
		}
	}
}

func TestParseFilenameErrors(t *testing.T) {
	for _, in := range []string{
		"",
		"foo-1.0-py3-none-any.zip",
		"foo-1.0-py3-none.whl",
		"foo-1.0-x-y-py3-none-any.whl",
		"foo-1.0-a1-py3-none-any.whl", // build tag must start with a digit
		"-1.0-py3-none-any.whl",
		"foo--py3-none-any.whl",
		"foo-not.a.version-py3-none-any.whl",
		"foo-1.0-py3..py2-none-any.whl",
		"foo-1.0-py3-none-any .whl",
		"dir/foo-1.0-py3-none-any.whl",
		"foo-1.0%zz-py3-none-any.whl",
		"f%2Foo-1.0-py3-none-any.whl",
		"foo-1.0-" + strings.Repeat("a.", 20) + "a-" + strings.Repeat("b.", 20) + "b-" + strings.Repeat("c.", 20) + "c.whl",
	} {
		_, err := ParseFilename(in)
		if err == nil {
			t.Errorf("ParseFilename(%q) succeeded", in)
			continue
		}
		if !strings.Contains(err.Error(), in) {
			t.Errorf("ParseFilename(%q) error %q does not name the file", in, err)
		}
	}
}

func TestNormalizeName(t *testing.T) {
	for in, want := range map[string]string{
		"Foo.Bar_baz--qux": "foo-bar-baz-qux",
		"demo_pkg":         "demo-pkg",
		"_private":         "-private",
		"A":                "a",
	} {
		if got := pyname.Normalize(in); got != want {
			t.Errorf("pyname.Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

var (
	x86 = tags.Target{PythonMinor: "3.12", Arch: "x86_64", Libc: "glibc", LibcVersion: "2.36"}
	arm = tags.Target{PythonMinor: "3.12", Arch: "aarch64", Libc: "glibc", LibcVersion: "2.36"}
)

// python-packaging.md §9.2: rank = index in the pip/uv-ordered list, -1 = incompatible.
func TestRanksVector(t *testing.T) {
	rx, err := tags.NewRanker(x86)
	if err != nil {
		t.Fatal(err)
	}
	ra, err := tags.NewRanker(arm)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		wheel    string
		x86, arm int
	}{
		{"numpy-2.2.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", 19, -1},
		{"numpy-2.2.3-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", -1, 19},
		{"numpy-2.2.3-cp312-cp312-musllinux_1_2_x86_64.whl", -1, -1},
		{"numpy-2.2.3-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", -1, -1},
		{"numpy-2.2.3-cp312-cp312-win_amd64.whl", -1, -1},
		{"black-26.3.1-cp312-cp312-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl", 8, -1},
		{"aiohttp-3.14.0-cp312-cp312-manylinux2014_aarch64.manylinux_2_17_aarch64.manylinux_2_28_aarch64.whl", -1, 8},
		{"cryptography-44.0.0-cp39-abi3-manylinux_2_34_x86_64.whl", 182, -1},
		{"cryptography-44.0.0-cp39-abi3-manylinux_2_28_aarch64.whl", -1, 118},
		{"cryptography-44.0.0-cp37-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", 271, -1},
		{"foo-1.0-cp313-abi3-manylinux_2_17_x86_64.whl", -1, -1},
		{"orjson-3.10.0-cp312-cp312-manylinux_2_39_x86_64.whl", -1, -1},
		{"torch-2.4.0+cpu-cp312-cp312-linux_x86_64.whl", 35, -1},
		{"torch-2.4.0%2Bcpu-cp312-cp312-linux_x86_64.whl", 35, -1},
		{"foo-1.0-cp312-abi3-linux_x86_64.whl", 71, -1},
		{"ruff-0.8.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", 523, -1},
		{"ruff-0.8.0-py3-none-musllinux_1_2_x86_64.whl", -1, -1},
		{"foo-1.0-cp312-none-any.whl", 972, 594},
		{"foo-1.0-py312-none-any.whl", 973, 595},
		{"six-1.16.0-py2.py3-none-any.whl", 974, 596},
		{"attrs-25.1.0-py3-none-any.whl", 974, 596},
		{"foo-1.0-1-py3-none-any.whl", 974, 596},
		{"foo-1.0-py2-none-any.whl", -1, -1},
		{"MarkupSafe-3.0.2-cp313-cp313t-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", -1, -1},
		{"foo-1.0-cp312-cp312d-manylinux_2_17_x86_64.whl", -1, -1},
		{"foo-1.0-pp310-pypy310_pp73-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", -1, -1},
		{"markupsafe-3.0.2-cp312-cp312-manylinux_2_5_i686.manylinux1_i686.manylinux_2_17_i686.manylinux2014_i686.whl", -1, -1},
	} {
		f, err := ParseFilename(tc.wheel)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			r    *tags.Ranker
			want int
		}{{rx, tc.x86}, {ra, tc.arm}} {
			rank, ok := c.r.Rank(f.Tags)
			if !ok {
				rank = -1
			}
			if rank != c.want {
				t.Errorf("%s on %s: rank %d, want %d", tc.wheel, c.r.Target().Arch, rank, c.want)
			}
		}
	}
}

func TestBest(t *testing.T) {
	// python-packaging.md §5.3: manylinux_2_28 > manylinux_2_17 > abi3 > py3-none-any.
	cands := []string{
		"x-1.0-py3-none-any.whl",
		"x-1.0-cp39-abi3-manylinux_2_34_x86_64.whl",
		"x-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
		"x-1.0-cp312-cp312-manylinux_2_28_x86_64.whl",
		"x-1.0-cp312-cp312-manylinux_2_28_aarch64.whl",
	}
	if i, err := Best(cands, x86); err != nil || i != 3 {
		t.Errorf("Best = %d, %v; want 3", i, err)
	}
	if i, err := Best(cands, arm); err != nil || i != 4 {
		t.Errorf("Best(arm) = %d, %v; want 4", i, err)
	}
	if i, err := Best(cands[:3], x86); err != nil || i != 2 {
		t.Errorf("Best(no 2_28) = %d, %v; want 2", i, err)
	}
	// Same rank: the highest build tag wins, compared numerically.
	builds := []string{"x-1.0-9-py3-none-any.whl", "x-1.0-10-py3-none-any.whl", "x-1.0-py3-none-any.whl", "x-1.0-10a-py3-none-any.whl", "x-1.0-010-py3-none-any.whl"}
	if i, err := Best(builds, x86); err != nil || i != 3 {
		t.Errorf("Best(builds) = %d, %v; want 3", i, err)
	}
	// A better rank beats a higher build tag.
	if i, err := Best([]string{"x-1.0-5-py3-none-any.whl", "x-1.0-cp312-cp312-linux_x86_64.whl"}, x86); err != nil || i != 1 {
		t.Errorf("Best(rank over build) = %d, %v; want 1", i, err)
	}
	// musllinux wheels only for musl targets.
	musl := tags.Target{PythonMinor: "3.12", Arch: "x86_64", Libc: "musl", LibcVersion: "1.2"}
	mixed := []string{"x-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", "x-1.0-cp312-cp312-musllinux_1_1_x86_64.whl"}
	if i, err := Best(mixed, musl); err != nil || i != 1 {
		t.Errorf("Best(musl) = %d, %v; want 1", i, err)
	}
	if i, err := Best(mixed, x86); err != nil || i != 0 {
		t.Errorf("Best(glibc) = %d, %v; want 0", i, err)
	}
}

func TestBestExplainsFailure(t *testing.T) {
	cands := []string{
		"numpy-2.2.3-cp311-cp311-manylinux_2_17_x86_64.whl",
		"numpy-2.2.3-cp312-cp312d-manylinux_2_17_x86_64.whl",
		"numpy-2.2.3-cp312-cp312-win_amd64.whl",
		"numpy-2.2.3-cp312-cp312-musllinux_1_2_x86_64.whl",
		"numpy-2.2.3-cp312-cp312-manylinux_2_39_x86_64.whl",
		"numpy-2.2.3-cp312-cp312-manylinux_2_17_aarch64.whl",
		"numpy-2.2.3.tar.gz",
	}
	_, err := Best(cands, x86)
	if err == nil {
		t.Fatal("Best succeeded")
	}
	msg := err.Error()
	for _, want := range []string{
		"CPython 3.12 on linux x86_64 (glibc 2.36)",
		"cp311-cp311-manylinux_2_17_x86_64.whl: ABI tag cp311 is for CPython 3.11, target is 3.12",
		"cp312d-manylinux_2_17_x86_64.whl: ABI tag cp312d is for a debug or free-threaded CPython build",
		"win_amd64.whl: platform win_amd64 is not Linux",
		"musllinux_1_2_x86_64.whl: platform musllinux_1_2_x86_64 needs musl, target uses glibc",
		"manylinux_2_39_x86_64.whl: platform manylinux_2_39_x86_64 needs glibc 2.39, target has 2.36",
		"manylinux_2_17_aarch64.whl: platform manylinux_2_17_aarch64 is for aarch64, target is x86_64",
		`"numpy-2.2.3.tar.gz": does not end in .whl`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if _, err := Best(nil, x86); err == nil {
		t.Error("Best(nil) succeeded")
	}
	if _, err := Best(cands, tags.Target{PythonMinor: "3.12", Arch: "x86_64", Libc: "bionic", LibcVersion: "1.0"}); err == nil {
		t.Error("Best with a bad target succeeded")
	}
}

func FuzzParseFilename(f *testing.F) {
	for _, s := range []string{
		"foo-1.0-1-py3-none-any.whl",
		"six-1.16.0-py2.py3-none-any.whl",
		"torch-2.4.0%2Bcpu-cp312-cp312-linux_x86_64.whl",
		"black-26.3.1-cp312-cp312-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl",
		"foo-1!2.0rc1.post3.dev4+local.7-py3-none-any.whl",
		"x-1.0-a.b.c.d-e.f.g-h.i.j.whl",
	} {
		f.Add(s)
	}
	r, err := tags.NewRanker(x86)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fn, err := ParseFilename(s)
		if err != nil {
			return
		}
		if fn.Name == "" || fn.Version == "" || len(fn.Tags) == 0 || len(fn.Tags) > maxTags {
			t.Fatalf("ParseFilename(%q) = %+v", s, fn)
		}
		if _, ok := r.Rank(fn.Tags); !ok {
			_ = r.Why(fn.Tags)
		}
		_, _ = Best([]string{s, s}, x86)
	})
}

// TestParseFilenameNormalizes covers the names and versions the test index
// derives from real wheel file names.
func TestParseFilenameNormalizes(t *testing.T) {
	for in, want := range map[string][2]string{
		"flask-2.2.2-py3-none-any.whl":                               {"flask", "2.2.2"},
		"MarkupSafe-3.0.2-cp312-cp312-manylinux_2_17_x86_64.whl":     {"markupsafe", "3.0.2"},
		"foo-1.0-1-py3-none-any.whl":                                 {"foo", "1.0"},
		"zope_interface-6.0-py3-none-any.whl":                        {"zope-interface", "6.0"},
		"six-1.16.0-py2.py3-none-any.whl":                            {"six", "1.16.0"},
		"kiln_demo_ext-1.0.0-cp311-cp311-manylinux_2_36_aarch64.whl": {"kiln-demo-ext", "1.0.0"},
	} {
		fn, err := ParseFilename(in)
		if err != nil || fn.NormalizedName() != want[0] || fn.Version != want[1] {
			t.Errorf("%s: %+v %v", in, fn, err)
		}
	}
	for _, bad := range []string{"foo-1.0.tar.gz", "foo-1.0-py3-any.whl", "foo-1.0-x-py3-none-any.whl", "-1.0-py3-none-any.whl", "foo--py3-none-any.whl", "a-b-c-d-e-f-g.whl"} {
		if _, err := ParseFilename(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
