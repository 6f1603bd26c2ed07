// Package wheel picks and installs Python wheels into a virtual environment
// held in a layer.Tree, producing the files pip and uv would write: the
// unpacked archive, spread .data directories, console-script launchers and a
// rewritten RECORD — without running Python.
package wheel

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/kiln-build/kiln/internal/pep440"
	"github.com/kiln-build/kiln/internal/pyname"

	"github.com/kiln-build/kiln/internal/tags"
)

// Filename is a parsed wheel file name,
// {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl.
type Filename struct {
	Name    string // as written in the file name
	Version string
	Build   string // optional build tag, starts with a digit
	Tags    []tags.Tag
}

// maxTags bounds the expansion of compressed tag sets; real wheels have a
// handful, and a crafted name must not make us allocate millions.
const maxTags = 4096

// ParseFilename parses a wheel file name. Percent-escapes (as in the last
// segment of a URL, e.g. torch-2.4.0%2Bcpu-…) are decoded first; '%' cannot
// appear in a wheel name otherwise. Compressed tag sets ("py2.py3") are
// expanded to every combination, in python, abi, platform order; tags are
// lower-cased as packaging does.
func ParseFilename(s string) (Filename, error) {
	orig := s
	if strings.Contains(s, "%") {
		dec, err := url.PathUnescape(s)
		if err != nil {
			return Filename{}, fmt.Errorf("wheel filename %q: %w", orig, err)
		}
		s = dec
	}
	bad := func(why string) (Filename, error) {
		return Filename{}, fmt.Errorf("wheel filename %q: %s", orig, why)
	}
	stem, ok := strings.CutSuffix(s, ".whl")
	if !ok {
		return bad("does not end in .whl")
	}
	if strings.ContainsAny(stem, "/\\") {
		return bad("contains a path separator")
	}
	parts := strings.Split(stem, "-")
	var f Filename
	switch len(parts) {
	case 5:
	case 6:
		f.Build = parts[2]
		if f.Build == "" || f.Build[0] < '0' || f.Build[0] > '9' || !allChars(f.Build, "._") {
			return bad(fmt.Sprintf("build tag %q must start with a digit", f.Build))
		}
	default:
		return bad("want name-version[-build]-python-abi-platform.whl")
	}
	f.Name, f.Version = parts[0], parts[1]
	if f.Name == "" || !allChars(f.Name, "._") {
		return bad(fmt.Sprintf("invalid distribution name %q", f.Name))
	}
	if !allChars(f.Version, ".!+_") {
		return bad(fmt.Sprintf("invalid version %q", f.Version))
	}
	if _, err := pep440.ParseVersion(f.Version); err != nil {
		return bad(fmt.Sprintf("invalid version %q", f.Version))
	}
	n := len(parts)
	var sets [3][]string
	total := 1
	for i, field := range parts[n-3:] {
		for _, t := range strings.Split(field, ".") {
			if t == "" || !allChars(t, "_") {
				return bad(fmt.Sprintf("invalid tag %q", field))
			}
			sets[i] = append(sets[i], strings.ToLower(t))
		}
		total *= len(sets[i])
		if total > maxTags {
			return bad("too many compressed tags")
		}
	}
	for _, py := range sets[0] {
		for _, abi := range sets[1] {
			for _, plat := range sets[2] {
				f.Tags = append(f.Tags, tags.Tag{Python: py, ABI: abi, Platform: plat})
			}
		}
	}
	return f, nil
}

// allChars reports whether s is ASCII letters, digits and bytes from extra.
func allChars(s, extra string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(extra, c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// NormalizedName is the PEP 503 form of the distribution name: lower case,
// runs of "-", "_" and "." replaced by one "-".
func (f Filename) NormalizedName() string { return pyname.Normalize(f.Name) }

// compareBuild orders build tags as packaging does: no tag sorts first, then
// by the leading number, then by the rest as a string. Numbers are compared
// as digit strings so that no tag can overflow.
func compareBuild(a, b string) int {
	if a == "" || b == "" {
		return cmpInt(len(a), len(b)) // only one empty, or both
	}
	na, ra := splitDigits(a)
	nb, rb := splitDigits(b)
	if c := cmpInt(len(na), len(nb)); c != 0 {
		return c
	}
	if c := strings.Compare(na, nb); c != 0 {
		return c
	}
	return strings.Compare(ra, rb)
}

func splitDigits(s string) (num, rest string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	num = strings.TrimLeft(s[:i], "0")
	return num, s[i:]
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Best returns the index of the wheel among filenames that uv would install
// for t: the lowest tag rank, then the highest build tag, then the first.
// When none fits, the error lists every candidate with the reason it was
// ruled out (python, ABI, platform, libc family or version).
func Best(filenames []string, t tags.Target) (int, error) {
	r, err := tags.NewRanker(t)
	if err != nil {
		return -1, err
	}
	best, bestRank, bestBuild := -1, 0, ""
	reasons := make([]string, len(filenames))
	for i, name := range filenames {
		f, err := ParseFilename(name)
		if err != nil {
			reasons[i] = err.Error()
			continue
		}
		rank, ok := r.Rank(f.Tags)
		if !ok {
			reasons[i] = name + ": " + r.Why(f.Tags)
			continue
		}
		if best < 0 || rank < bestRank || rank == bestRank && compareBuild(f.Build, bestBuild) > 0 {
			best, bestRank, bestBuild = i, rank, f.Build
		}
	}
	if best >= 0 {
		return best, nil
	}
	if len(filenames) == 0 {
		return -1, fmt.Errorf("no wheels to choose from for %s", r.Target())
	}
	return -1, fmt.Errorf("no wheel fits %s:\n  %s", r.Target(), strings.Join(reasons, "\n  "))
}
