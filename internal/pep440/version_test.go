package pep440

import (
	"testing"
)

func TestParseVersionNormalises(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"3.12.8", "3.12.8"},
		{" 3.12 ", "3.12"},
		{"v1.0", "1.0"},
		{"V1.0", "1.0"},
		{"0!1.0", "1.0"},
		{"1!2.0", "1!2.0"},
		{"01.002.0003", "1.2.3"},
		{"1.0a", "1.0a0"},
		{"1.0alpha1", "1.0a1"},
		{"1.0-beta.2", "1.0b2"},
		{"1.0c1", "1.0rc1"},
		{"1.0pre1", "1.0rc1"},
		{"1.0preview_1", "1.0rc1"},
		{"1.0RC1", "1.0rc1"},
		{"1.0-1", "1.0.post1"},
		{"1.0.post", "1.0.post0"},
		{"1.0rev3", "1.0.post3"},
		{"1.0-r4", "1.0.post4"},
		{"1.0-post-", "1.0.post0"},
		{"1.0dev", "1.0.dev0"},
		{"1.0-DEV-7", "1.0.dev7"},
		{"1.0a1.post2.dev3", "1.0a1.post2.dev3"},
		{"2.4.0+cpu", "2.4.0+cpu"},
		{"1.0+Ubuntu-1_007", "1.0+ubuntu.1.7"},
		{"1.0+abc.5", "1.0+abc.5"},
		{"99999999999999999999999.1", "99999999999999999999999.1"},
		{"2!1.0rc1.post2.dev3+local.1", "2!1.0rc1.post2.dev3+local.1"},
	} {
		v, err := ParseVersion(tc.in)
		if err != nil {
			t.Errorf("ParseVersion(%q): %v", tc.in, err)
			continue
		}
		if got := v.String(); got != tc.want {
			t.Errorf("ParseVersion(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseVersionRejects(t *testing.T) {
	for _, in := range []string{
		"", " ", "v", "1.", ".1", "1..0", "1.0.*", "a1.0", "1.0+", "1.0+a..b", "1.0+a_",
		"1.0-", "1.0ab", "1.0 a1", "1.0post1dev1x", "1!", "!1", "1.0+ä", "3.12.8,", "==1.0",
		"1.0a1b1",
	} {
		if v, err := ParseVersion(in); err == nil {
			t.Errorf("ParseVersion(%q) = %v, want error", in, v)
		}
	}
}

// ordered is strictly increasing in PEP 440 order.
var ordered = []string{
	"0.dev0",
	"0.9",
	"1.0.dev456",
	"1.0a1",
	"1.0a2.dev456",
	"1.0a12.dev456",
	"1.0a12",
	"1.0b1.dev456",
	"1.0b2",
	"1.0b2.post345.dev456",
	"1.0b2.post345",
	"1.0b2-346",
	"1.0c1.dev456",
	"1.0c1",
	"1.0rc2",
	"1.0c3",
	"1.0",
	"1.0+abc",
	"1.0+abc.1",
	"1.0+abd",
	"1.0+0",
	"1.0+5",
	"1.0+5.a",
	"1.0+10",
	"1.0.post456.dev34",
	"1.0.post456",
	"1.0.post457",
	"1.1.dev1",
	"1.2+123abc",
	"1.2+123abc456",
	"1.2+abc",
	"1.2+abc123",
	"1.2+abc123def",
	"1.2+1234.abc",
	"1.2+123456",
	"1.2.r32+123456",
	"1.2.rev33+123456",
	"3.9.17",
	"3.10",
	"3.10.0.1",
	"3.12.0a1",
	"3.12.0rc1",
	"3.12.0",
	"3.12.8",
	"3.13",
	"20240101",
	"99999999999999999999999",
	"1!0.1",
	"1!1.0b2.post345.dev456",
	"1!1.0",
	"2!0",
}

func TestCompareOrder(t *testing.T) {
	vs := make([]Version, len(ordered))
	for i, s := range ordered {
		v, err := ParseVersion(s)
		if err != nil {
			t.Fatalf("ParseVersion(%q): %v", s, err)
		}
		vs[i] = v
	}
	for i := range vs {
		for j := range vs {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := vs[i].Compare(vs[j]); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
}

func TestCompareEqual(t *testing.T) {
	for _, p := range [][2]string{
		{"1.0", "1.0.0"},
		{"1", "1.0.0.0"},
		{"1.0", "0!1.0"},
		{"1.0c1", "1.0rc1"},
		{"1.0-1", "1.0.post1"},
		{"1.0+007", "1.0+7"},
		{"1.0+A-b", "1.0+a.B"},
	} {
		a, errA := ParseVersion(p[0])
		b, errB := ParseVersion(p[1])
		if errA != nil || errB != nil {
			t.Fatalf("parse %v: %v, %v", p, errA, errB)
		}
		if c := a.Compare(b); c != 0 {
			t.Errorf("Compare(%s, %s) = %d, want 0", p[0], p[1], c)
		}
	}
	if c := (Version{}).Compare(mustParse(t, "0.0")); c != 0 {
		t.Errorf("Compare(zero Version, 0.0) = %d, want 0", c)
	}
	if got := (Version{}).String(); got != "0" {
		t.Errorf("zero Version String() = %q, want 0", got)
	}
}

func mustParse(t *testing.T, s string) Version {
	t.Helper()
	v, err := ParseVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range ordered {
		f.Add(s)
	}
	for _, s := range []string{"v1.0-BETA_2.post-3.DEV4+Ab-0", "1.0+ubuntu-1", " 1 ", "1!2", "1.0a", "1..0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err != nil {
			return
		}
		str := v.String()
		w, err := ParseVersion(str)
		if err != nil {
			t.Fatalf("ParseVersion(%q).String() = %q does not parse: %v", s, str, err)
		}
		if w.String() != str || w.Compare(v) != 0 {
			t.Fatalf("ParseVersion(%q) = %q, reparsed %q (compare %d)", s, str, w.String(), w.Compare(v))
		}
		if v.Compare(v) != 0 {
			t.Fatalf("%q does not equal itself", s)
		}
	})
}
