package marker

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/kiln-build/kiln/internal/pep440"
	"github.com/kiln-build/kiln/internal/pyname"
)

// Env is the marker environment of a target interpreter.
type Env struct {
	OSName, SysPlatform, PlatformMachine, PlatformPythonImplementation, PlatformSystem,
	PlatformRelease, PlatformVersion, PythonVersion, PythonFullVersion,
	ImplementationName, ImplementationVersion string
}

var fullVersionRE = regexp.MustCompile(`^([0-9]+\.[0-9]+)\.[0-9]+((?:a|b|rc)[0-9]+)?$`)

// machines maps Debian/Go and uname spellings of an architecture to
// platform.machine() on Linux.
var machines = map[string]string{
	"amd64":   "x86_64",
	"x86_64":  "x86_64",
	"arm64":   "aarch64",
	"aarch64": "aarch64",
}

// LinuxCPython is the environment of a CPython interpreter of the given full
// version ("3.11.2", or a pre-release such as "3.14.0rc1") on Linux for a
// Debian/Go arch ("amd64"→x86_64, "arm64"→aarch64; x86_64 and aarch64 are
// accepted too). platform_release and platform_version describe the kernel
// the image will run on, which is unknowable at build time; like uv for a
// target platform they are "".
func LinuxCPython(pythonFullVersion, arch string) (Env, error) {
	m := fullVersionRE.FindStringSubmatch(pythonFullVersion)
	if m == nil {
		return Env{}, fmt.Errorf("python version %q: want major.minor.micro, e.g. 3.12.8", pythonFullVersion)
	}
	machine, ok := machines[arch]
	if !ok {
		return Env{}, fmt.Errorf("architecture %q: want amd64 or arm64 (x86_64, aarch64)", arch)
	}
	return Env{
		OSName:                       "posix",
		SysPlatform:                  "linux",
		PlatformMachine:              machine,
		PlatformPythonImplementation: "CPython",
		PlatformSystem:               "Linux",
		PythonVersion:                m[1],
		PythonFullVersion:            pythonFullVersion,
		ImplementationName:           "cpython",
		// sys.implementation.version spells a release candidate "c", as
		// packaging's default_environment formats it.
		ImplementationVersion: strings.Replace(pythonFullVersion, "rc", "c", 1),
	}, nil
}

// Matches parses marker and evaluates it with the given extras and no
// dependency groups.
func (e Env) Matches(marker string, extras map[string]bool) (bool, error) {
	m, err := Parse(marker)
	if err != nil {
		return false, err
	}
	return m.Evaluate(e, extras, nil)
}

// PythonIn reports whether the environment's python_full_version satisfies
// the PEP 440 specifier set spec (a requires-python value, say).
func (e Env) PythonIn(spec string) (bool, error) {
	set, err := pep440.ParseSpecifiers(spec)
	if err != nil {
		return false, err
	}
	v, err := pep440.ParseVersion(e.PythonFullVersion)
	if err != nil {
		return false, fmt.Errorf("python_full_version: %w", err)
	}
	return set.Contains(v), nil
}

func (e Env) value(name string) (string, error) {
	switch name {
	case "os_name":
		return e.OSName, nil
	case "sys_platform":
		return e.SysPlatform, nil
	case "platform_machine":
		return e.PlatformMachine, nil
	case "platform_python_implementation":
		return e.PlatformPythonImplementation, nil
	case "platform_system":
		return e.PlatformSystem, nil
	case "platform_release":
		return e.PlatformRelease, nil
	case "platform_version":
		return e.PlatformVersion, nil
	case "python_version":
		return e.PythonVersion, nil
	case "python_full_version":
		return e.PythonFullVersion, nil
	case "implementation_name":
		return e.ImplementationName, nil
	case "implementation_version":
		return e.ImplementationVersion, nil
	}
	return "", fmt.Errorf("unknown variable %q", name)
}

// Evaluate evaluates the marker in env. extras holds the activated extras:
// `extra == "x"` is true when x is among them and `extra != "x"` when it is
// not (uv encodes conflicting extras and groups this way); `"x" in extras`
// and `"x" in dependency_groups` test extras and groups as pylock.toml
// does. Names are compared after PEP 503 normalisation; a nil map is empty.
//
// For python_version, python_full_version, implementation_version and
// platform_release, comparisons are PEP 440 when the right-hand side forms a
// valid specifier with the operator; other comparisons are on strings, where
// `in` is a substring test, == and != are exact, <= and >= mean ==, and < and
// > are false. ~= or === on strings, and any misuse of extra, extras or
// dependency_groups, are errors.
func (m *Marker) Evaluate(env Env, extras, groups map[string]bool) (bool, error) {
	if m == nil || m.expr == nil {
		return true, nil
	}
	ok, err := m.expr.eval(&evaluation{env: env, extras: extras, groups: groups})
	if err != nil {
		return false, fmt.Errorf("marker %q: %w", m.String(), err)
	}
	return ok, nil
}

type evaluation struct {
	env            Env
	extras, groups map[string]bool
}

// eval evaluates every term even once the result is known, so that an
// invalid comparison is reported whatever the environment.
func (x boolExpr) eval(e *evaluation) (bool, error) {
	result := !x.or
	for _, t := range x.terms {
		v, err := t.eval(e)
		if err != nil {
			return false, err
		}
		if x.or {
			result = result || v
		} else {
			result = result && v
		}
	}
	return result, nil
}

var versionVariables = map[string]bool{
	"python_version":         true,
	"python_full_version":    true,
	"implementation_version": true,
	"platform_release":       true,
}

func (c compare) eval(e *evaluation) (bool, error) {
	name, literal := c.left.name, c.right.value
	if name == "" {
		name, literal = c.right.name, c.left.value
	}
	switch name {
	case "extra":
		if c.op != "==" && c.op != "!=" {
			return false, fmt.Errorf("extra can only be compared with == or !=, not %s", c.op)
		}
		// literal was normalised by Parse.
		return hasName(e.extras, literal) == (c.op == "=="), nil
	case "extras", "dependency_groups":
		if c.right.name == "" || (c.op != "in" && c.op != "not in") {
			return false, fmt.Errorf("%s is a set: test it with '<name>' in %s", name, name)
		}
		set := e.extras
		if name == "dependency_groups" {
			set = e.groups
		}
		return hasName(set, pyname.Normalize(literal)) == (c.op == "in"), nil
	}

	lhs, rhs := c.left.value, c.right.value
	var err error
	if c.left.name != "" {
		lhs, err = e.env.value(c.left.name)
	} else {
		rhs, err = e.env.value(c.right.name)
	}
	if err != nil {
		return false, err
	}
	if versionVariables[name] && c.op != "in" && c.op != "not in" {
		if spec, err := pep440.ParseSpecifier(c.op + rhs); err == nil {
			return spec.ContainsString(lhs), nil
		}
	}
	switch c.op {
	case "in":
		return strings.Contains(rhs, lhs), nil
	case "not in":
		return !strings.Contains(rhs, lhs), nil
	case "==", "<=", ">=":
		return lhs == rhs, nil
	case "!=":
		return lhs != rhs, nil
	case "<", ">":
		return false, nil
	}
	return false, fmt.Errorf("%q %s %q: %s needs PEP 440 versions", lhs, c.op, rhs, c.op)
}

// hasName reports whether set holds name (already normalised) under any
// spelling that normalises to it.
func hasName(set map[string]bool, name string) bool {
	for k, in := range set {
		if in && pyname.Normalize(k) == name {
			return true
		}
	}
	return false
}
