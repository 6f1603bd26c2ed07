package marker

import (
	"reflect"
	"strings"
	"testing"
)

func set(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

func linux(t testing.TB, arch string) Env {
	t.Helper()
	env, err := LinuxCPython("3.12.8", arch)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TestReferenceVectors is python-packaging.md §9.1: markers evaluated by
// packaging for CPython 3.12.8 on Linux with platform_release/version "".
func TestReferenceVectors(t *testing.T) {
	amd64, arm64 := linux(t, "amd64"), linux(t, "arm64")
	for _, tc := range []struct {
		marker         string
		x86_64, arm64_ bool
	}{
		{`python_version >= '3.8'`, true, true},
		{`python_version < '3.12'`, false, false},
		{`python_version > '3.12'`, false, false},
		{`python_version == '3.12'`, true, true},
		{`python_version == '3.12.*'`, true, true},
		{`python_version ~= '3.11'`, true, true},
		{`'3.8' < python_version`, true, true},
		{`python_full_version >= '3.12.1'`, true, true},
		{`python_full_version < '3.13'`, true, true},
		{`python_full_version == '3.12.*'`, true, true},
		{`python_full_version >= '3.9.17' and python_full_version < '3.10'`, false, false},
		{`sys_platform == 'linux'`, true, true},
		{`sys_platform == 'Linux'`, false, false},
		{`sys_platform == 'win32'`, false, false},
		{`sys_platform != 'darwin'`, true, true},
		{`platform_machine == 'x86_64'`, true, false},
		{`platform_machine == 'aarch64'`, false, true},
		{`platform_machine == 'AMD64'`, false, false},
		{`platform_machine != 'arm64' or sys_platform != 'darwin'`, true, true},
		{`platform_python_implementation == 'CPython'`, true, true},
		{`platform_python_implementation != 'PyPy'`, true, true},
		{`implementation_name == 'cpython'`, true, true},
		{`implementation_name != 'PyPy'`, true, true},
		{`os_name == 'nt'`, false, false},
		{`platform_system == 'Linux'`, true, true},
		{`'linux' in sys_platform`, true, true},
		{`sys_platform == 'linux' and (platform_machine == 'x86_64' or platform_machine == 'aarch64')`, true, true},
		{`platform_release >= '5'`, false, false},
	} {
		for _, c := range []struct {
			env  Env
			want bool
		}{{amd64, tc.x86_64}, {arm64, tc.arm64_}} {
			got, err := c.env.Matches(tc.marker, nil)
			if err != nil {
				t.Errorf("%s: %v", tc.marker, err)
				continue
			}
			if got != c.want {
				t.Errorf("%s on %s = %v, want %v", tc.marker, c.env.PlatformMachine, got, c.want)
			}
		}
	}

	const conflict = `extra == 'extra-4-test-chgnet' or extra != 'extra-4-test-m3gnet'`
	for _, tc := range []struct {
		marker         string
		extras, groups map[string]bool
		want           bool
	}{
		{`extra == 'cli'`, set("cli"), nil, true},
		{`extra == 'cli'`, set(), nil, false},
		{`'dev' in dependency_groups`, nil, set("dev"), true},
		{conflict, set(), nil, true},
		{conflict, set("extra-4-test-m3gnet"), nil, false},
	} {
		m, err := Parse(tc.marker)
		if err != nil {
			t.Fatalf("Parse(%s): %v", tc.marker, err)
		}
		got, err := m.Evaluate(amd64, tc.extras, tc.groups)
		if err != nil || got != tc.want {
			t.Errorf("%s with extras %v groups %v = %v, %v; want %v", tc.marker, tc.extras, tc.groups, got, err, tc.want)
		}
	}
}

func TestEvaluate(t *testing.T) {
	env := linux(t, "x86_64")
	kernel := env
	kernel.PlatformRelease = "6.1.0"
	kernel.PlatformVersion = "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1"
	for _, tc := range []struct {
		marker         string
		env            Env
		extras, groups map[string]bool
		want           bool
	}{
		// Empty markers.
		{``, env, nil, nil, true},
		{"  \t", env, nil, nil, true},
		// Precedence, grouping, quoting and spacing.
		{`os_name == 'nt' or os_name == 'posix' and sys_platform == 'linux'`, env, nil, nil, true},
		{`(os_name == 'nt' or os_name == 'posix') and sys_platform == 'win32'`, env, nil, nil, false},
		{`os_name == 'posix' and (sys_platform == 'win32' or (python_version >= "3" and python_version < "4"))`, env, nil, nil, true},
		{`python_version>"3.1"and(os_name=="posix")`, env, nil, nil, true},
		{"\tos_name\t==\t'posix'\t", env, nil, nil, true},
		{`os.name == 'posix' and sys.platform == 'linux' and platform.machine == 'x86_64'`, env, nil, nil, true},
		{`python_implementation == 'CPython'`, env, nil, nil, true},
		// Versions on either side, wildcards and pre-releases.
		{`'3.12.8' == python_full_version`, env, nil, nil, true},
		{`'3.13' > python_version`, env, nil, nil, true},
		{`'3.13' <= python_version`, env, nil, nil, false},
		{`python_version != '3.12.*'`, env, nil, nil, false},
		{`python_full_version >= '3.12.8rc1'`, env, nil, nil, true},
		{`python_version === '3.12'`, env, nil, nil, true},
		{`python_version === '3.12.0'`, env, nil, nil, false},
		{`implementation_version >= '3.12'`, env, nil, nil, true},
		{`python_version > '3.12.0'`, env, nil, nil, false},
		{`python_version == ' 3.12 '`, env, nil, nil, true},
		// A version variable whose value is not a version falls back to
		// string comparison.
		{`python_version == 'three'`, env, nil, nil, false},
		{`python_version != 'three'`, env, nil, nil, true},
		{`python_version < 'three'`, env, nil, nil, false},
		{`python_version >= '3.12,<4'`, env, nil, nil, false},
		{`'3.1' in python_full_version`, env, nil, nil, true},
		{`'3.13' in python_full_version`, env, nil, nil, false},
		{`'3.1' not in python_version`, env, nil, nil, false},
		{`platform_release >= '5'`, kernel, nil, nil, true},
		{`platform_release < '6.1'`, kernel, nil, nil, false},
		{`platform_release == ''`, env, nil, nil, true},
		{`platform_release === ''`, env, nil, nil, true},
		// Plain strings.
		{`sys_platform >= 'linux'`, env, nil, nil, true},
		{`sys_platform <= 'linux'`, env, nil, nil, true},
		{`sys_platform > 'a'`, env, nil, nil, false},
		{`sys_platform < 'z'`, env, nil, nil, false},
		{`'lin' in sys_platform`, env, nil, nil, true},
		{`'win' not in sys_platform`, env, nil, nil, true},
		{`sys_platform in 'linux2'`, env, nil, nil, true},
		{`'Debian' in platform_version`, kernel, nil, nil, true},
		{`platform_version == ''`, env, nil, nil, true},
		// extra compares names normalised, as a set.
		{`extra == 'Foo_Bar'`, env, set("foo-bar"), nil, true},
		{`extra == 'foo-bar'`, env, set("FOO.BAR"), nil, true},
		{`'foo' == extra`, env, set("foo"), nil, true},
		{`extra == 'foo'`, env, map[string]bool{"foo": false}, nil, false},
		{`extra != 'foo'`, env, nil, nil, true},
		{`extra == 'a' and extra == 'b'`, env, set("a", "b"), nil, true},
		{`extra == ''`, env, nil, nil, false},
		// pylock's set-valued variables.
		{`'Dev_Tools' in dependency_groups`, env, nil, set("dev-tools"), true},
		{`'dev' not in dependency_groups`, env, nil, set("dev"), false},
		{`'dev' in dependency_groups`, env, set("dev"), nil, false},
		{`'cli' in extras`, env, set("CLI"), nil, true},
		{`'cli' in extras`, env, nil, nil, false},
		{`'cli' not in extras`, env, nil, nil, true},
	} {
		m, err := Parse(tc.marker)
		if err != nil {
			t.Errorf("Parse(%s): %v", tc.marker, err)
			continue
		}
		got, err := m.Evaluate(tc.env, tc.extras, tc.groups)
		if err != nil {
			t.Errorf("%s: %v", tc.marker, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s with extras %v groups %v = %v, want %v", tc.marker, tc.extras, tc.groups, got, tc.want)
		}
	}
}

func TestEvaluateErrors(t *testing.T) {
	env := linux(t, "amd64")
	for _, marker := range []string{
		`os_name ~= 'posix'`,
		`os_name === 'posix'`,
		`python_version ~= '3'`,
		`python_version ~= 'three'`,
		`extra in 'cli'`,
		`extra >= 'cli'`,
		`extras == 'cli'`,
		`extras in 'cli'`,
		`'dev' == dependency_groups`,
		// Evaluation does not stop at the first decisive term, so an
		// invalid comparison is an error whatever the environment.
		`os_name == 'posix' or os_name ~= 'nt'`,
		`os_name == 'nt' and os_name ~= 'nt'`,
	} {
		m, err := Parse(marker)
		if err != nil {
			t.Errorf("Parse(%s): %v", marker, err)
			continue
		}
		_, err = m.Evaluate(env, set("cli"), set("dev"))
		if err == nil {
			t.Errorf("%s: no error", marker)
			continue
		}
		if !strings.Contains(err.Error(), "marker ") {
			t.Errorf("%s: error %q does not name the marker", marker, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ marker, want string }{
		{`python_version >= `, "position 18"},
		{`python_version`, "position 14"},
		{`python_version >= '3.8`, "unterminated string at position 18"},
		{`python_version >= "3.8'`, "unterminated string"},
		{`python_verison >= '3.8'`, `unknown variable "python_verison" at position 0`},
		{`platform_python_version == 'x'`, "unknown variable"},
		{`platform.release == 'x'`, "unknown variable"},
		{`Python_Version == '3'`, "unknown variable"},
		{`os_name = 'posix'`, `invalid operator "=" at position 8`},
		{`os_name => 'posix'`, "invalid operator"},
		{`os_name <> 'posix'`, "expected a marker variable"},
		{`os_name is 'posix'`, `expected a comparison operator, found "is"`},
		{`os_name not 'posix'`, "expected 'in' after 'not'"},
		{`os_name notin 'posix'`, "expected a comparison operator"},
		{`os_name == 'posix' and`, "found the end at position 22"},
		{`os_name == 'posix' or or os_name == 'nt'`, "position 22"},
		{`and os_name == 'posix'`, "position 0"},
		{`os_name == 'posix' os_name == 'nt'`, "expected 'and', 'or' or the end"},
		{`(os_name == 'posix'`, "expected ')'"},
		{`os_name == 'posix')`, "position 18"},
		{`()`, "position 1"},
		{`os_name == python_version`, "compares two variables"},
		{`'a' == 'b'`, "compares two strings"},
		{`os_name == 'posix'; python_version > '3'`, `unexpected character ';'`},
		{`os_name == 'posix' && sys_platform == 'linux'`, "unexpected character '&'"},
		{"os_name == 'posix'\nand sys_platform == 'linux'", "unexpected character '\\n'"},
		{`os_name == 'é' and ä`, `unexpected character 'ä'`},
		{`python_version >= 3.8`, `expected a marker variable, a quoted string or '(', found "3.8" at position 18`},
		{strings.Repeat("(", 101) + "os_name == 'posix'" + strings.Repeat(")", 101), "nested more than 100 deep"},
	} {
		m, err := Parse(tc.marker)
		if err == nil {
			t.Errorf("Parse(%q) = %q, want error", tc.marker, m)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, "marker ") || !strings.Contains(msg, " at position ") {
			t.Errorf("Parse(%q) error %q, want it to contain %q, the marker and a position", tc.marker, msg, tc.want)
		}
	}
	if _, err := Parse(strings.Repeat("(", 100) + "os_name == 'posix'" + strings.Repeat(")", 100)); err != nil {
		t.Errorf("100 levels of parentheses: %v", err)
	}
}

func TestString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{``, ``},
		{`python_version>='3.8'`, `python_version >= "3.8"`},
		{`'3.8' < python_version`, `"3.8" < python_version`},
		{`os.name=='posix'and(sys.platform=="linux")`, `os_name == "posix" and sys_platform == "linux"`},
		{`python_implementation != 'PyPy'`, `platform_python_implementation != "PyPy"`},
		{`((os_name == 'a' or os_name == 'b')) or (os_name == 'c' or (os_name == 'd'))`, `os_name == "a" or os_name == "b" or os_name == "c" or os_name == "d"`},
		{`(os_name == 'a' and os_name == 'b') or os_name == 'c'`, `os_name == "a" and os_name == "b" or os_name == "c"`},
		{`os_name == 'a' and (os_name == 'b' or os_name == 'c') and (os_name == 'd' and os_name == 'e')`, `os_name == "a" and (os_name == "b" or os_name == "c") and os_name == "d" and os_name == "e"`},
		{`extra == 'Foo__Bar.baz'`, `extra == "foo-bar-baz"`},
		{`'Foo_Bar' == extra`, `"foo-bar" == extra`},
		{`'Dev_Tools' in dependency_groups`, `"Dev_Tools" in dependency_groups`},
		{`'a' not  in  sys_platform`, `"a" not in sys_platform`},
		{`platform_version == 'say "hi"'`, `platform_version == 'say "hi"'`},
	} {
		m, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got := m.String(); got != tc.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
	}
	var nilMarker *Marker
	if nilMarker.String() != "" {
		t.Error("nil marker String() is not empty")
	}
	if ok, err := nilMarker.Evaluate(Env{}, nil, nil); !ok || err != nil {
		t.Errorf("nil marker Evaluate = %v, %v; want true", ok, err)
	}
}

func TestLinuxCPython(t *testing.T) {
	want := Env{
		OSName:                       "posix",
		SysPlatform:                  "linux",
		PlatformMachine:              "aarch64",
		PlatformPythonImplementation: "CPython",
		PlatformSystem:               "Linux",
		PythonVersion:                "3.11",
		PythonFullVersion:            "3.11.2",
		ImplementationName:           "cpython",
		ImplementationVersion:        "3.11.2",
	}
	for _, arch := range []string{"arm64", "aarch64"} {
		got, err := LinuxCPython("3.11.2", arch)
		if err != nil || got != want {
			t.Errorf("LinuxCPython(3.11.2, %s) = %+v, %v; want %+v", arch, got, err, want)
		}
	}
	for _, arch := range []string{"amd64", "x86_64"} {
		got, err := LinuxCPython("3.13.10", arch)
		if err != nil || got.PlatformMachine != "x86_64" || got.PythonVersion != "3.13" {
			t.Errorf("LinuxCPython(3.13.10, %s) = %+v, %v", arch, got, err)
		}
	}
	rc, err := LinuxCPython("3.14.0rc1", "amd64")
	if err != nil || rc.PythonFullVersion != "3.14.0rc1" || rc.ImplementationVersion != "3.14.0c1" || rc.PythonVersion != "3.14" {
		t.Errorf("LinuxCPython(3.14.0rc1) = %+v, %v", rc, err)
	}
	for _, tc := range []struct{ version, arch string }{
		{"3.12", "amd64"},
		{"3", "amd64"},
		{"3.12.8+", "amd64"},
		{"v3.12.8", "amd64"},
		{"3.12.8.post1", "amd64"},
		{"3.12.8", "i386"},
		{"3.12.8", "AMD64"},
		{"3.12.8", "arm"},
		{"3.12.8", ""},
	} {
		if env, err := LinuxCPython(tc.version, tc.arch); err == nil {
			t.Errorf("LinuxCPython(%q, %q) = %+v, want error", tc.version, tc.arch, env)
		}
	}
}

func TestPythonIn(t *testing.T) {
	env := linux(t, "amd64")
	for _, tc := range []struct {
		spec string
		want bool
	}{
		{">=3.10", true},
		{">=3.10.0, <4.0", true},
		{">=3.13", false},
		{"==3.12.*", true},
		{"~=3.11", true},
		{"!=3.12.*", false},
		{">=3.12.9", false},
		{"", true},
	} {
		got, err := env.PythonIn(tc.spec)
		if err != nil || got != tc.want {
			t.Errorf("PythonIn(%q) = %v, %v; want %v", tc.spec, got, err, tc.want)
		}
	}
	if _, err := env.PythonIn(">=3.10 <4"); err == nil {
		t.Error("PythonIn accepted an invalid specifier")
	}
	if _, err := (Env{PythonFullVersion: "three"}).PythonIn(">=3"); err == nil || !strings.Contains(err.Error(), "python_full_version") {
		t.Errorf("PythonIn with a bad python_full_version: %v", err)
	}
}

func TestMatchesParseError(t *testing.T) {
	if _, err := linux(t, "amd64").Matches("python_version >=", nil); err == nil {
		t.Error("Matches accepted an invalid marker")
	}
}

var fuzzSeeds = []string{
	`python_version >= '3.8'`,
	`'3.8' < python_version`,
	`sys_platform == 'linux' and (platform_machine == 'x86_64' or platform_machine == 'aarch64')`,
	`extra == 'extra-4-test-chgnet' or extra != 'extra-4-test-m3gnet'`,
	`'dev' in dependency_groups and 'cli' not in extras`,
	`python_full_version >= '3.9.17' and python_full_version < '3.10' or implementation_name != 'PyPy'`,
	`platform_release >= '5' or platform_version == "#1 SMP"`,
	`os.name=="posix"and(python_version~="3.11"or python_version==="3.12")`,
	`platform_version == 'say "hi"'`,
	`((((os_name == 'posix'))))`,
	``,
}

func FuzzParseEvaluate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	envs := []Env{linux(f, "amd64"), linux(f, "arm64"), {PythonFullVersion: "x", PlatformRelease: "6.1.0-18-amd64"}}
	extras, groups := set("cli", "extra-4-test-m3gnet"), set("dev")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse(s)
		if err != nil {
			return
		}
		str := m.String()
		again, err := Parse(str)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", s, str, err)
		}
		if !reflect.DeepEqual(m, again) {
			t.Fatalf("Parse(%q) and Parse(%q) differ", s, str)
		}
		for _, env := range envs {
			got, err1 := m.Evaluate(env, extras, groups)
			want, err2 := again.Evaluate(env, extras, groups)
			if got != want || (err1 == nil) != (err2 == nil) {
				t.Fatalf("%q and %q evaluate differently: %v, %v vs %v, %v", s, str, got, err1, want, err2)
			}
		}
	})
}
