package deb

import (
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
)

// versionOrder holds pairs with a < b unless noted, taken from dpkg's own
// test suite, Debian policy and real bookworm packages.
var versionOrder = []struct {
	a, b string
	want int
}{
	{"1.0~rc1", "1.0", -1},
	{"1.0~rc1", "1.0~rc2", -1},
	{"1.0~~", "1.0~~a", -1},
	{"1.0~~a", "1.0~", -1},
	{"1.0~", "1.0", -1},
	{"1.0", "1.0a", -1},
	{"1.0a", "1.0+", -1},
	{"1.0a", "1.0.", -1},
	{"1.0", "1.0+", -1},
	{"1.0+", "1.0.1", -1},
	{"1:0.1", "2.0", 1},
	{"0:1.0", "1.0", 0},
	{"1.0", "1.0-0", 0},
	{"1.0-0", "1.0-0.1", -1},
	{"2.36-9+deb12u4", "2.36-9+deb12u10", -1},
	{"1.0-1", "1.0-1ubuntu1", -1},
	{"1.0-1", "1.0-1+b1", -1},
	{"1.0-1~bpo12+1", "1.0-1", -1},
	{"3.11.2-6+deb12u8", "3.11.2-6+deb12u6", 1},
	{"1:1.2.13.dfsg-1", "1:1.2.0", 1},
	{"2.1~beta3", "2.1", -1},
	{"001.02", "1.2", 0},
	{"1.10", "1.9", 1},
	{"1.0.0", "1.0", 1},
	{"9", "10", -1},
	{"99999999999999999999999", "99999999999999999999998", 1},
	{"1.0-1.a", "1.0-1.+", -1},
	{"2:1", "10:0", -1},
	{"1.2-3-4", "1.2-3", 1},
	{"1:2:3", "1:2:4", -1},
	{"1.0-A", "1.0-a", -1},
}

func mustVersion(t testing.TB, s string) Version {
	t.Helper()
	v, err := ParseVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range versionOrder {
		a, b := mustVersion(t, tc.a), mustVersion(t, tc.b)
		if got := CompareVersions(a, b); got != tc.want {
			t.Errorf("CompareVersions(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := CompareVersions(b, a); got != -tc.want {
			t.Errorf("CompareVersions(%s, %s) = %d, want %d", tc.b, tc.a, got, -tc.want)
		}
	}
}

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Version
	}{
		{"1.0", Version{Upstream: "1.0"}},
		{" 1:2.36-9+deb12u4 ", Version{1, "2.36", "9+deb12u4"}},
		{"0:1.0-1", Version{0, "1.0", "1"}},
		{"1:2:3-4-5", Version{1, "2:3-4", "5"}},
		{"2147483647:1", Version{2147483647, "1", ""}},
		{"1.0~rc1+dfsg", Version{Upstream: "1.0~rc1+dfsg"}},
	} {
		got, err := ParseVersion(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseVersion(%q) = %+v, %v, want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"", "empty version"},
		{"  ", "empty version"},
		{"1 0", "embedded whitespace"},
		{":1", "empty epoch"},
		{"a:1", "epoch is not a number"},
		{"-1:1", "epoch is not a number"},
		{"2147483648:1", "epoch too big"},
		{"1:", "nothing after the epoch colon"},
		{"1.0-", "empty revision"},
		{"-1", "empty upstream version"},
		{"a1", "does not start with a digit"},
		{"1_0", "invalid character '_' in upstream"},
		{"1:1.0-1:2", "invalid character ':' in revision"},
		{"1.0-a_b", "invalid character '_' in revision"},
	} {
		_, err := ParseVersion(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseVersion(%q) error = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestVersionString(t *testing.T) {
	for in, want := range map[string]string{
		"0:1.0-1":  "1.0-1",
		"1:1.0":    "1:1.0",
		"0:1:2":    "0:1:2",
		"1.0-1-2":  "1.0-1-2",
		"01:1.0-1": "1:1.0-1",
	} {
		if got := mustVersion(t, in).String(); got != want {
			t.Errorf("ParseVersion(%q).String() = %q, want %q", in, got, want)
		}
	}
}

// dpkgCompare asks the host's dpkg how a and b order.
func dpkgCompare(t *testing.T, dpkg, a, b string) int {
	t.Helper()
	for _, op := range []struct {
		name string
		res  int
	}{{"lt", -1}, {"gt", 1}} {
		err := exec.Command(dpkg, "--compare-versions", a, op.name, b).Run()
		if err == nil {
			return op.res
		}
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatal(err)
		}
	}
	return 0
}

// TestAgainstDpkg cross-checks the table and random versions built from
// the characters that matter to the ordering with dpkg itself.
func TestAgainstDpkg(t *testing.T) {
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		t.Skip("no dpkg on this host")
	}
	if testing.Short() {
		t.Skip("runs dpkg hundreds of times")
	}
	for _, tc := range versionOrder {
		if got := dpkgCompare(t, dpkg, tc.a, tc.b); got != tc.want {
			t.Errorf("table entry %s vs %s says %d, dpkg says %d", tc.a, tc.b, tc.want, got)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	part := func(alphabet string) string {
		b := []byte{"0123456789"[rng.IntN(10)]}
		for range rng.IntN(6) {
			b = append(b, alphabet[rng.IntN(len(alphabet))])
		}
		return string(b)
	}
	random := func() string {
		s := part("0019.~~+aZz")
		if rng.IntN(3) == 0 {
			s += "-" + part("019.~+b")
		}
		if rng.IntN(5) == 0 {
			s = "1:" + s
		}
		return s
	}
	for range 150 {
		a, b := random(), random()
		if rng.IntN(4) == 0 {
			b = a[:rng.IntN(len(a))+1] // shared prefixes make close calls
			if strings.HasSuffix(b, "-") || strings.HasSuffix(b, ":") {
				b += "0"
			}
		}
		want := dpkgCompare(t, dpkg, a, b)
		if got := CompareVersions(mustVersion(t, a), mustVersion(t, b)); got != want {
			t.Errorf("CompareVersions(%s, %s) = %d, dpkg says %d", a, b, got, want)
		}
	}
}

func FuzzParseVersion(f *testing.F) {
	for _, tc := range versionOrder {
		f.Add(tc.a, tc.b)
	}
	f.Add("1:", "-1")
	f.Fuzz(func(t *testing.T, sa, sb string) {
		a, errA := ParseVersion(sa)
		b, errB := ParseVersion(sb)
		if errA == nil {
			again, err := ParseVersion(a.String())
			if err != nil || again != a {
				t.Fatalf("%q: String %q reparses to %+v, %v", sa, a.String(), again, err)
			}
			if CompareVersions(a, a) != 0 {
				t.Fatalf("%q does not equal itself", sa)
			}
		}
		if errA == nil && errB == nil {
			if ab, ba := CompareVersions(a, b), CompareVersions(b, a); ab != -ba || ab < -1 || ab > 1 {
				t.Fatalf("compare(%q, %q) = %d but reverse is %d", sa, sb, ab, ba)
			}
		}
	})
}
