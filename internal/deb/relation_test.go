package deb

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseRelations(t *testing.T) {
	v := func(s string) Version { return mustVersion(t, s) }
	for _, tc := range []struct {
		in   string
		want [][]Relation
	}{
		{"", nil},
		{"libc6", [][]Relation{{{Name: "libc6"}}}},
		{
			"libpython3.11-minimal (= 3.11.2-6+deb12u8), libexpat1 (>= 2.1~beta3), zlib1g (>= 1:1.2.0)",
			[][]Relation{
				{{Name: "libpython3.11-minimal", Op: OpEq, Version: v("3.11.2-6+deb12u8")}},
				{{Name: "libexpat1", Op: OpGreaterEq, Version: v("2.1~beta3")}},
				{{Name: "zlib1g", Op: OpGreaterEq, Version: v("1:1.2.0")}},
			},
		},
		{
			"default-mta | mail-transport-agent,python3:any (>>3.11~),\n perl:any",
			[][]Relation{
				{{Name: "default-mta"}, {Name: "mail-transport-agent"}},
				{{Name: "python3", Arch: "any", Op: OpGreater, Version: v("3.11~")}},
				{{Name: "perl", Arch: "any"}},
			},
		},
		{
			"foo(<<2)[amd64 !linux-any] <!nocheck> <stage1 cross>, bar (<= 1) , baz (< 1) | qux (> 1),",
			[][]Relation{
				{{
					Name: "foo", Op: OpLess, Version: v("2"),
					Archs:    []string{"amd64", "!linux-any"},
					Profiles: [][]string{{"!nocheck"}, {"stage1", "cross"}},
				}},
				{{Name: "bar", Op: OpLessEq, Version: v("1")}},
				{{Name: "baz", Op: OpLessEq, Version: v("1")}, {Name: "qux", Op: OpGreaterEq, Version: v("1")}},
			},
		},
		{"g++-12:amd64 <cross>", [][]Relation{{{Name: "g++-12", Arch: "amd64", Profiles: [][]string{{"cross"}}}}}},
	} {
		got, err := ParseRelations(tc.in)
		if err != nil {
			t.Errorf("ParseRelations(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseRelations(%q) =\n%+v, want\n%+v", tc.in, got, tc.want)
		}
	}
}

func TestParseRelationsErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a |", `relation "": empty alternative`},
		{"a || b", "empty alternative"},
		{"-a", "must start with a letter or digit"},
		{"a/b", `invalid character '/' in package name`},
		{"a:", `invalid architecture qualifier ""`},
		{"a:x_y", `invalid architecture qualifier "x_y"`},
		{"a (>= 1", "missing ')'"},
		{"a (1.0)", "missing operator"},
		{"a (>= )", "empty version"},
		{"a (>= 1 2)", "embedded whitespace"},
		{"a (=>1)", `version ">1": upstream version does not start with a digit`},
		{"a [amd64", "missing ']'"},
		{"a []", "empty architecture list"},
		{"a [!]", `invalid architecture "!"`},
		{"a <nocheck", "missing '>'"},
		{"a <>", "empty build profile group"},
		{"a <no/check>", `invalid build profile "no/check"`},
		{"a b", `unexpected "b"`},
		{"a [amd64] (>= 1)", `unexpected "(>= 1)"`},
		{"ok, a (>= x)", `relation "a (>= x)": version "x"`},
	} {
		_, err := ParseRelations(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseRelations(%q) error = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestSatisfiedBy(t *testing.T) {
	for _, tc := range []struct {
		rel, ver string
		want     bool
	}{
		{"a", "0", true},
		{"a (>= 2.1~beta3)", "2.1", true},
		{"a (>= 2.1~beta3)", "2.1~alpha", false},
		{"a (>= 2.1~beta3)", "2.1~beta3", true},
		{"a (>> 1.0)", "1.0", false},
		{"a (>> 1.0)", "1.0-0.1", true},
		{"a (<< 1.0)", "1.0~rc1", true},
		{"a (<< 1.0)", "1.0", false},
		{"a (<= 1.0)", "1.0-0", true},
		{"a (<= 1.0)", "1.0+1", false},
		{"a (= 1:2.0)", "2.0", false},
		{"a (= 1:2.0)", "1:2.0", true},
		{"a (= 1.0)", "1.0-0", true},
		{"zlib1g (>= 1:1.2.0)", "1:1.2.13.dfsg-1", true},
		{"libc6 (>= 2.36)", "2.36-9+deb12u10", true},
		{"libc6 (<< 2.37)", "2.36-9+deb12u10", true},
	} {
		rels, err := ParseRelations(tc.rel)
		if err != nil {
			t.Fatal(err)
		}
		if got := rels[0][0].SatisfiedBy(mustVersion(t, tc.ver)); got != tc.want {
			t.Errorf("%s satisfied by %s = %v, want %v", tc.rel, tc.ver, got, tc.want)
		}
	}
}

func TestRelationString(t *testing.T) {
	const in = "foo:any (>= 1:2-3) [amd64 !i386] <!nocheck> <stage1 cross>"
	rels, err := ParseRelations(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := rels[0][0].String(); got != in {
		t.Errorf("String() = %q, want %q", got, in)
	}
}

func FuzzParseRelations(f *testing.F) {
	f.Add("libc6 (>= 2.36), python3:any | python3-minimal (<< 3.12~)")
	f.Add("foo(<<2)[amd64 !linux-any] <!nocheck> <stage1 cross>, bar (< 1),")
	f.Add("a || b, (>= 1), c [")
	f.Fuzz(func(t *testing.T, in string) {
		rels, err := ParseRelations(in)
		if err != nil {
			return
		}
		var parts []string
		for _, alts := range rels {
			if len(alts) == 0 {
				t.Fatalf("%q: empty clause", in)
			}
			var as []string
			for _, r := range alts {
				if r.Name == "" {
					t.Fatalf("%q: relation without a name", in)
				}
				as = append(as, r.String())
			}
			parts = append(parts, strings.Join(as, " | "))
		}
		out := strings.Join(parts, ", ")
		again, err := ParseRelations(out)
		if err != nil {
			t.Fatalf("%q formats as %q, which fails: %v", in, out, err)
		}
		if !reflect.DeepEqual(again, rels) {
			t.Fatalf("%q formats as %q, which reparses to %+v, want %+v", in, out, again, rels)
		}
	})
}
