package pep440

import (
	"strings"
	"testing"
)

// containsCases hold for both Specifiers.Contains and, for single clauses,
// Specifier.Contains. Expected values follow pypa packaging's
// SpecifierSet(spec).contains(version, prereleases=True).
var containsCases = []struct {
	spec, version string
	want          bool
}{
	// The vectors the lead asked for.
	{"==3.12.*", "3.12.8", true},
	{"==3.12.*", "3.12", true},
	{"==3.12.*", "3.12.0rc1", true},
	{"==3.12.*", "3.12.dev0", true},
	{"==3.12.*", "3.12.8+local", true},
	{"==3.12.*", "3.13.0", false},
	{"==3.12.*", "3.13.0.dev0", false},
	{"==3.12.*", "3.1", false},
	{"==3.12.*", "3.120", false},
	{"==3.12.*", "1!3.12", false},
	{"==1.0.*", "1", true},
	{"==3.12.0.*", "3.12", true},
	{"==1!2.*", "1!2.3", true},
	{"==1!2.*", "2.3", false},
	{"~=3.11", "3.11", true},
	{"~=3.11", "3.12.8", true},
	{"~=3.11", "3.10.9", false},
	{"~=3.11", "4.0", false},
	{"~=3.11", "4.0.dev0", false},
	{"~=3.11", "3.99.post1+x", true},
	{"~=3.11.2", "3.11.9", true},
	{"~=3.11.2", "3.11.1", false},
	{"~=3.11.2", "3.12.0", false},
	{"~=2.2.post3", "2.2.post3", true},
	{"~=2.2.post3", "2.9", true},
	{"~=2.2.post3", "2.2", false},
	{"~=1.4.5a4", "1.4.5", true},
	{"~=1.4.5a4", "1.4.5a3", false},
	{"~=1.4.5a4", "1.5.0", false},
	// The suffix is ignored when taking the prefix: ~=1.4.5a4 is
	// >=1.4.5a4,==1.4.*.
	{"~=1.4.5a4", "1.4.6", true},
	{"~=1!2.0", "1!2.5", true},
	{"~=1!2.0", "2.5", false},
	{"!=3.10.*", "3.10.4", false},
	{"!=3.10.*", "3.10", false},
	{"!=3.10.*", "3.10.0rc1", false},
	{"!=3.10.*", "3.11.4", true},
	{"!=3.10.*", "3.9", true},
	{"===2.4.0+cpu", "2.4.0+cpu", true},
	{"===2.4.0+CPU", "2.4.0+cpu", true},
	{"===2.4.0", "2.4.0+cpu", false},
	{"===1.0", "1.0.0", false},
	{"===foobar", "1.0", false},
	{"==2.4.0", "2.4.0+cpu", true},
	{"==2.4", "2.4.0+cpu", true},
	{"==2.4.0+cpu", "2.4.0+cpu", true},
	{"==2.4.0+cpu", "2.4+CPU", true},
	{"==2.4.0+cpu", "2.4.0", false},
	{"==2.4.0+cpu", "2.4.0+cu121", false},
	{"!=2.4.0", "2.4.0+cpu", false},
	{"!=2.4.0+cpu", "2.4.0+cu121", true},
	{">=2.4.0", "2.4.0+cpu", true},
	{"<=2.4.0", "2.4.0+cpu", true},
	{"<=2.4.0", "2.4.0.post1", false},
	{">2.4.0", "2.4.0+cpu", false},
	{"<2.4.0", "2.4.0+cpu", false},
	{"<2.4.1", "2.4.0+cpu", true},
	// Pre-, post- and dev-releases.
	{">2.4.0", "2.4.0.post1", false},
	{">2.4.0", "2.4.0.post1.dev1", false},
	{">2.4.0", "2.4.1.dev0", true},
	{">2.4.0", "2.4.0.0.1", true},
	{">2.4.0.post0", "2.4.0.post1", true},
	{">2.4.0.post1", "2.4.0.post1+x", false},
	{">2.4.0.post1", "2.4.0.post2.dev0", true},
	{">1.0rc1", "1.0rc1.post1", false},
	{">1.0rc1", "1.0rc2", true},
	{">1.0rc1", "1.0", true},
	{">1.0.dev1", "1.0.dev1+x", false},
	{">1.0.dev1", "1.0.dev2", true},
	{">1.0.dev1", "1.0a1", true},
	{"<3.1", "3.1.dev0", false},
	{"<3.1", "3.1rc1", false},
	{"<3.1", "3.0.dev0", true},
	{"<3.1", "3.0.post1", true},
	{"<3.1rc1", "3.1.dev0", true},
	{"<3.1rc1", "3.1a5", true},
	{"<3.1rc1", "3.1rc1", false},
	{">=3.13", "3.13.0rc1", false},
	{">=3.13.0rc1", "3.13.0rc2", true},
	{">=3.13.0rc1", "3.13.0b4", false},
	{">=3.12", "3.12.0a1", false},
	{">=3.12", "3.13.0a1", true},
	{"<=3.12", "3.12.0a1", true},
	{"==1.0.post1", "1.0-1", true},
	{"==1.0a1", "1.0alpha1", true},
	{"==1.0.dev1", "1.0dev1", true},
	{"==1.0", "1.0.0", true},
	{"==1.0", "1.0rc1", false},
	{"==1.0", "1.0.post1", false},
	{">1.0", "1.0.1", true},
	{"<1.0.1", "1.0", true},
	{"== 1.0", "1.0", true},
	{">=v1.0", "1.0", true},
	{"==1.0+ABC-1", "1.0+abc.1", true},
	// Sets.
	{">=3.10.0, <4.0", "3.12.8", true},
	{">=3.10.0, <4.0", "3.10.0", true},
	{">=3.10.0, <4.0", "4.0", false},
	{">=3.10.0, <4.0", "4.0.0a1", false},
	{">=3.10.0 , <4.0", "3.9.18", false},
	{">=3.9,!=3.9.0,<3.14", "3.9.0", false},
	{">=3.9,!=3.9.0,<3.14", "3.13.1", true},
	{">=3.9, !=3.11.*", "3.11.2", false},
	{">=3.9, !=3.11.*", "3.12.2", true},
	{">=3.10,", "3.10", true},
	{",,>=3.10", "3.9", false},
	{"", "1.0", true},
	{"", "1.0.dev0", true},
	{"  ", "0", true},
}

func TestContains(t *testing.T) {
	for _, tc := range containsCases {
		set, err := ParseSpecifiers(tc.spec)
		if err != nil {
			t.Errorf("ParseSpecifiers(%q): %v", tc.spec, err)
			continue
		}
		v, err := ParseVersion(tc.version)
		if err != nil {
			t.Errorf("ParseVersion(%q): %v", tc.version, err)
			continue
		}
		if got := set.Contains(v); got != tc.want {
			t.Errorf("%q contains %q = %v, want %v", tc.spec, tc.version, got, tc.want)
		}
		if strings.Contains(tc.spec, ",") || strings.TrimSpace(tc.spec) == "" {
			continue
		}
		one, err := ParseSpecifier(tc.spec)
		if err != nil {
			t.Errorf("ParseSpecifier(%q): %v", tc.spec, err)
			continue
		}
		if got := one.Contains(v); got != tc.want {
			t.Errorf("Specifier %q contains %q = %v, want %v", tc.spec, tc.version, got, tc.want)
		}
		if got := one.ContainsString(tc.version); got != tc.want {
			t.Errorf("Specifier %q ContainsString %q = %v, want %v", tc.spec, tc.version, got, tc.want)
		}
	}
}

func TestContainsString(t *testing.T) {
	for _, tc := range []struct {
		spec, version string
		want          bool
	}{
		// === compares the text as given, not its normal form.
		{"===1.0.0", "1.0.0", true},
		{"===1.0.0", "1.0", false},
		{"===foo", "FOO", true},
		{"===", "", true},
		// Text that is no version satisfies nothing else.
		{">=5", "", false},
		{"!=1.0", "", false},
		{"!=1.0", "not-a-version", false},
		{">=3.8", " 3.12.8 ", true},
	} {
		spec, err := ParseSpecifier(tc.spec)
		if err != nil {
			t.Errorf("ParseSpecifier(%q): %v", tc.spec, err)
			continue
		}
		if got := spec.ContainsString(tc.version); got != tc.want {
			t.Errorf("%q ContainsString %q = %v, want %v", tc.spec, tc.version, got, tc.want)
		}
	}
}

func TestParseSpecifiersRejects(t *testing.T) {
	for _, in := range []string{
		"3.12", "=3.12", "=>3.12", ">=3.10 <4", ">=3.10||<2", "*", ">=", "==",
		">=3.10.*", "<3.*", "~=3.*", "~=3", "~=3.11+local", ">=3.11+local", "<=1.0+x",
		"==3.12.*.*", "==3.12a1.*", "==3.12.*+x", "==3.12 .*", "===a b", "===a;b", "===a)",
		"!== 1.0", ">=3.10, foo", "~=", ">=1.0 1.0",
	} {
		if _, err := ParseSpecifiers(in); err == nil {
			t.Errorf("ParseSpecifiers(%q) succeeded, want error", in)
		}
	}
	_, err := ParseSpecifiers(">=3.10, foo")
	if err == nil || !strings.Contains(err.Error(), `"foo"`) || !strings.Contains(err.Error(), `">=3.10, foo"`) {
		t.Errorf("error %v should name the bad clause and the set", err)
	}
}

func TestSpecifiersString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{">=3.10.0, <4.0", ">=3.10.0,<4.0"},
		{" == 3.12.* ,", "==3.12.*"},
		{"~=V2.2.POST3", "~=V2.2.POST3"},
		{"", ""},
		{"===foo", "===foo"},
	} {
		s, err := ParseSpecifiers(tc.in)
		if err != nil {
			t.Fatalf("ParseSpecifiers(%q): %v", tc.in, err)
		}
		if got := s.String(); got != tc.want {
			t.Errorf("ParseSpecifiers(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzParseSpecifiers(f *testing.F) {
	for _, tc := range containsCases {
		f.Add(tc.spec, tc.version)
	}
	f.Add("===", "")
	f.Add(">1.0.post9", "1.0.post10")
	f.Add("~=1.9", "2.0.dev0")
	f.Fuzz(func(t *testing.T, spec, version string) {
		set, err := ParseSpecifiers(spec)
		if err != nil {
			return
		}
		again, err := ParseSpecifiers(set.String())
		if err != nil {
			t.Fatalf("ParseSpecifiers(%q).String() = %q does not parse: %v", spec, set.String(), err)
		}
		if again.String() != set.String() {
			t.Fatalf("round trip of %q: %q then %q", spec, set.String(), again.String())
		}
		v, err := ParseVersion(version)
		if err != nil {
			return
		}
		if set.Contains(v) != again.Contains(v) {
			t.Fatalf("%q and its round trip %q disagree on %q", spec, again.String(), version)
		}
		for _, s := range set.specs {
			if s.op != "===" && s.Contains(v) != s.ContainsString(version) {
				t.Fatalf("%q: Contains and ContainsString disagree on %q", s, version)
			}
		}
	})
}
