// Package tags computes the wheel compatibility tags a CPython interpreter on
// Linux accepts, in the priority order pip (packaging ≤ 26.2) and uv use, so
// that the wheel kiln picks for a target is the one `uv sync` would install.
//
// The target is described, not probed: kiln builds images for platforms it
// does not run on, so the Python minor version, architecture and C library
// come from the base image.
package tags

import (
	"fmt"
	"strconv"
	"strings"
)

// Target is the interpreter a wheel must run on.
type Target struct {
	PythonMinor string // "3.12"
	Arch        string // "x86_64", "aarch64", …; Go names "amd64", "arm64" are accepted
	Libc        string // "glibc" or "musl"
	LibcVersion string // "2.36" for glibc, "1.2" for musl
}

// String describes the target for error messages.
func (t Target) String() string {
	return fmt.Sprintf("CPython %s on linux %s (%s %s)", t.PythonMinor, t.Arch, t.Libc, t.LibcVersion)
}

// Tag is one python-abi-platform triple, all lower case.
type Tag struct{ Python, ABI, Platform string }

func (t Tag) String() string { return t.Python + "-" + t.ABI + "-" + t.Platform }

// archAliases maps accepted spellings to the names used in platform tags.
var archAliases = map[string]string{
	"x86_64":      "x86_64",
	"amd64":       "x86_64",
	"aarch64":     "aarch64",
	"arm64":       "aarch64",
	"i686":        "i686",
	"386":         "i686",
	"armv7l":      "armv7l",
	"arm":         "armv7l",
	"ppc64":       "ppc64",
	"ppc64le":     "ppc64le",
	"s390x":       "s390x",
	"riscv64":     "riscv64",
	"loongarch64": "loongarch64",
	"loong64":     "loongarch64",
}

// target is a validated Target.
type target struct {
	minor      int // Python 3.minor
	arch       string
	musl       bool
	libcMajor  int
	libcMinor  int
	descriptor Target // normalised, for messages
}

func parseTarget(t Target) (target, error) {
	var out target
	major, minor, err := parseMajorMinor(t.PythonMinor)
	if err != nil || major != 3 {
		return out, fmt.Errorf("target python version %q: want 3.N", t.PythonMinor)
	}
	arch, ok := archAliases[t.Arch]
	if !ok {
		return out, fmt.Errorf("target architecture %q is not supported", t.Arch)
	}
	switch t.Libc {
	case "glibc":
	case "musl":
		out.musl = true
	default:
		return out, fmt.Errorf("target libc %q: want glibc or musl", t.Libc)
	}
	lmaj, lmin, err := parseMajorMinor(t.LibcVersion)
	if err != nil {
		return out, fmt.Errorf("target %s version %q: want MAJOR.MINOR", t.Libc, t.LibcVersion)
	}
	// glibc 3.x does not exist; packaging would need to know the last 2.x
	// minor to enumerate past it, so refuse rather than guess.
	if !out.musl && lmaj != 2 {
		return out, fmt.Errorf("target glibc version %q: only glibc 2.x is supported", t.LibcVersion)
	}
	out.minor, out.arch, out.libcMajor, out.libcMinor = minor, arch, lmaj, lmin
	out.descriptor = Target{PythonMinor: fmt.Sprintf("3.%d", minor), Arch: arch, Libc: t.Libc, LibcVersion: fmt.Sprintf("%d.%d", lmaj, lmin)}
	return out, nil
}

func parseMajorMinor(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, ".")
	if !ok {
		return 0, 0, fmt.Errorf("no dot")
	}
	major, err := parseSmallInt(a)
	if err != nil {
		return 0, 0, err
	}
	minor, err := parseSmallInt(b)
	if err != nil {
		return 0, 0, err
	}
	return major, minor, nil
}

// parseSmallInt accepts plain decimal digits below 1000, which bounds the
// tag lists that are generated from them.
func parseSmallInt(s string) (int, error) {
	if s == "" || len(s) > 3 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("not a small number: %q", s)
	}
	return strconv.Atoi(s)
}

// platforms lists the platform tags of t, most specific first. It follows
// packaging's _linux_platforms: manylinux (glibc) or musllinux (musl), then
// the plain linux_ARCH tag last, as packaging ≤ 26.2 and uv do.
func (t target) platforms() []string {
	var out []string
	if t.musl {
		for minor := t.libcMinor; minor >= 0; minor-- {
			out = append(out, fmt.Sprintf("musllinux_%d_%d_%s", t.libcMajor, minor, t.arch))
		}
	} else {
		// Oldest glibc packaging considers: 2.5 on x86, 2.17 elsewhere.
		oldest := 17
		if t.arch == "x86_64" || t.arch == "i686" {
			oldest = 5
		}
		for minor := t.libcMinor; minor >= oldest; minor-- {
			out = append(out, fmt.Sprintf("manylinux_2_%d_%s", minor, t.arch))
			if legacy, ok := legacyManylinux[minor]; ok {
				out = append(out, legacy+"_"+t.arch)
			}
		}
	}
	return append(out, "linux_"+t.arch)
}

// legacyManylinux maps glibc 2.minor to the PEP 600 alias that follows
// manylinux_2_minor in packaging's list.
var legacyManylinux = map[int]string{17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}

// Supported returns every tag t accepts, best first: packaging's
// cpython_tags followed by compatible_tags for the interpreter's own ABI.
func Supported(t Target) ([]Tag, error) {
	tt, err := parseTarget(t)
	if err != nil {
		return nil, err
	}
	return tt.supported(), nil
}

func (t target) supported() []Tag {
	plats := t.platforms()
	cp := fmt.Sprintf("cp3%d", t.minor)
	var out []Tag
	add := func(py, abi string) {
		for _, p := range plats {
			out = append(out, Tag{py, abi, p})
		}
	}
	add(cp, cp)
	add(cp, "abi3")
	add(cp, "none")
	// An abi3 wheel built for any earlier CPython 3 runs here.
	for m := t.minor - 1; m >= 2; m-- {
		add(fmt.Sprintf("cp3%d", m), "abi3")
	}
	pys := pyRange(t.minor)
	for _, py := range pys {
		add(py, "none")
	}
	out = append(out, Tag{cp, "none", "any"})
	for _, py := range pys {
		out = append(out, Tag{py, "none", "any"})
	}
	return out
}

// pyRange is packaging's _py_interpreter_range: py3N, py3, py3(N-1) … py30.
func pyRange(minor int) []string {
	out := []string{fmt.Sprintf("py3%d", minor), "py3"}
	for m := minor - 1; m >= 0; m-- {
		out = append(out, fmt.Sprintf("py3%d", m))
	}
	return out
}

// Ranker answers "how good is this wheel for the target" in constant time
// per tag.
type Ranker struct {
	t       target
	index   map[Tag]int
	pythons map[string]bool
	pyABI   map[[2]string]bool
}

// NewRanker prepares the supported tag table of t.
func NewRanker(t Target) (*Ranker, error) {
	tt, err := parseTarget(t)
	if err != nil {
		return nil, err
	}
	r := &Ranker{t: tt, index: map[Tag]int{}, pythons: map[string]bool{}, pyABI: map[[2]string]bool{}}
	for i, tag := range tt.supported() {
		r.index[tag] = i
		r.pythons[tag.Python] = true
		r.pyABI[[2]string{tag.Python, tag.ABI}] = true
	}
	return r, nil
}

// Target returns the normalised target the ranker was built for.
func (r *Ranker) Target() Target { return r.t.descriptor }

// Rank returns the lowest index in the supported list of any of tags (lower
// is better) and whether any of them is supported at all.
func (r *Ranker) Rank(tags []Tag) (int, bool) {
	best, ok := 0, false
	for _, t := range tags {
		i, found := r.index[lower(t)]
		if found && (!ok || i < best) {
			best, ok = i, true
		}
	}
	return best, ok
}

func lower(t Tag) Tag {
	return Tag{strings.ToLower(t.Python), strings.ToLower(t.ABI), strings.ToLower(t.Platform)}
}

// Why explains why none of tags is supported, naming the first of python,
// ABI and platform that rules them out; "" if one is supported.
func (r *Ranker) Why(tags []Tag) string {
	if _, ok := r.Rank(tags); ok {
		return ""
	}
	if len(tags) == 0 {
		return "no tags"
	}
	var pyOK, abiOK []Tag
	for _, t := range tags {
		t = lower(t)
		if r.pythons[t.Python] {
			pyOK = append(pyOK, t)
			if r.pyABI[[2]string{t.Python, t.ABI}] {
				abiOK = append(abiOK, t)
			}
		}
	}
	d := r.t.descriptor
	switch {
	case len(pyOK) == 0:
		return fmt.Sprintf("python tag %s does not run on CPython %s", unique(tags, func(t Tag) string { return t.Python }), d.PythonMinor)
	case len(abiOK) == 0:
		var reasons []string
		for _, abi := range strings.Split(unique(pyOK, func(t Tag) string { return t.ABI }), ".") {
			reasons = append(reasons, r.abiWhy(abi))
		}
		return strings.Join(reasons, "; ")
	}
	var reasons []string
	seen := map[string]bool{}
	for _, t := range abiOK {
		why := r.platformWhy(t)
		if !seen[why] {
			seen[why] = true
			reasons = append(reasons, why)
		}
	}
	return strings.Join(reasons, "; ")
}

func unique(tags []Tag, field func(Tag) string) string {
	var out []string
	seen := map[string]bool{}
	for _, t := range tags {
		f := strings.ToLower(field(t))
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return strings.Join(out, ".")
}

// abiWhy explains why the ABI tag abi does not fit: another CPython minor
// version, another build of the same one (debug "d", free-threaded "t"), or
// another implementation.
func (r *Ranker) abiWhy(abi string) string {
	own := fmt.Sprintf("cp3%d", r.t.minor)
	if rest, ok := strings.CutPrefix(abi, "cp3"); ok {
		digits := strings.TrimRight(rest, "abcdefghijklmnopqrstuvwxyz")
		if minor, err := strconv.Atoi(digits); err == nil && minor != r.t.minor {
			return fmt.Sprintf("ABI tag %s is for CPython 3.%d, target is 3.%d", abi, minor, r.t.minor)
		}
		if strings.HasPrefix(abi, own) {
			return fmt.Sprintf("ABI tag %s is for a debug or free-threaded CPython build, target ABI is %s", abi, own)
		}
	}
	return fmt.Sprintf("ABI tag %s is not supported by CPython 3.%d (%s, abi3 or none)", abi, r.t.minor, own)
}

// platformWhy explains why t, whose python and ABI are fine, is not
// supported: wrong OS, architecture, libc family or libc version.
func (r *Ranker) platformWhy(t Tag) string {
	p, d := t.Platform, r.t.descriptor
	family, arch, major, minor, ok := splitLinuxPlatform(p)
	switch {
	case p == "any":
		return fmt.Sprintf("tag %s is not a valid combination", t)
	case !ok:
		return fmt.Sprintf("platform %s is not Linux", p)
	case arch != r.t.arch:
		return fmt.Sprintf("platform %s is for %s, target is %s", p, arch, r.t.arch)
	case family == "manylinux" && r.t.musl:
		return fmt.Sprintf("platform %s needs glibc, target uses musl", p)
	case family == "musllinux" && !r.t.musl:
		return fmt.Sprintf("platform %s needs musl, target uses glibc", p)
	case family != "linux" && (major > r.t.libcMajor || major == r.t.libcMajor && minor > r.t.libcMinor):
		return fmt.Sprintf("platform %s needs %s %d.%d, target has %s", p, d.Libc, major, minor, d.LibcVersion)
	default:
		return fmt.Sprintf("tag %s is not supported", t)
	}
}

// splitLinuxPlatform splits manylinux_X_Y_ARCH, the legacy manylinux1/2010/
// 2014 aliases, musllinux_X_Y_ARCH and linux_ARCH into their parts.
func splitLinuxPlatform(p string) (family, arch string, major, minor int, ok bool) {
	for minor, alias := range legacyManylinux {
		if rest, found := strings.CutPrefix(p, alias+"_"); found && rest != "" {
			return "manylinux", rest, 2, minor, true
		}
	}
	for _, fam := range []string{"manylinux", "musllinux"} {
		rest, found := strings.CutPrefix(p, fam+"_")
		if !found {
			continue
		}
		parts := strings.SplitN(rest, "_", 3)
		if len(parts) != 3 || parts[2] == "" {
			return "", "", 0, 0, false
		}
		maj, err1 := strconv.Atoi(parts[0])
		mnr, err2 := strconv.Atoi(parts[1])
		if err1 != nil || err2 != nil {
			return "", "", 0, 0, false
		}
		return fam, parts[2], maj, mnr, true
	}
	if rest, found := strings.CutPrefix(p, "linux_"); found && rest != "" {
		return "linux", rest, 0, 0, true
	}
	return "", "", 0, 0, false
}
