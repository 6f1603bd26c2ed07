package deb

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Version is a parsed Debian version, [epoch:]upstream[-revision].
type Version struct {
	Epoch    uint32
	Upstream string
	// Revision is empty for native packages; dpkg orders "" like "0".
	Revision string
}

// String formats v the way Debian writes it, omitting a zero epoch (unless
// the upstream part has a colon, which would then be misread as one) and an
// empty revision.
func (v Version) String() string {
	var b strings.Builder
	if v.Epoch != 0 || strings.Contains(v.Upstream, ":") {
		b.WriteString(strconv.FormatUint(uint64(v.Epoch), 10))
		b.WriteByte(':')
	}
	b.WriteString(v.Upstream)
	if v.Revision != "" {
		b.WriteByte('-')
		b.WriteString(v.Revision)
	}
	return b.String()
}

// ParseVersion parses a version with the rules of dpkg's parseversion,
// treating what dpkg merely warns about as errors: the upstream part must
// start with a digit and only the characters dpkg allows may appear.
func ParseVersion(s string) (Version, error) {
	v, err := parseVersion(s)
	if err != nil {
		return Version{}, fmt.Errorf("version %q: %w", truncate(s), err)
	}
	return v, nil
}

func parseVersion(s string) (Version, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Version{}, errors.New("empty version")
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return Version{}, errors.New("embedded whitespace")
	}
	var v Version
	if e, rest, ok := strings.Cut(s, ":"); ok {
		if e == "" {
			return Version{}, errors.New("empty epoch")
		}
		for i := 0; i < len(e); i++ {
			if e[i] < '0' || e[i] > '9' {
				return Version{}, errors.New("epoch is not a number")
			}
		}
		n, err := strconv.ParseUint(e, 10, 31) // dpkg caps epochs at INT_MAX
		if err != nil {
			return Version{}, errors.New("epoch too big")
		}
		v.Epoch = uint32(n)
		s = rest
		if s == "" {
			return Version{}, errors.New("nothing after the epoch colon")
		}
	}
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		v.Upstream, v.Revision = s[:i], s[i+1:]
		if v.Revision == "" {
			return Version{}, errors.New("empty revision")
		}
	} else {
		v.Upstream = s
	}
	if v.Upstream == "" {
		return Version{}, errors.New("empty upstream version")
	}
	if !isDigit(v.Upstream[0]) {
		return Version{}, errors.New("upstream version does not start with a digit")
	}
	for i := 0; i < len(v.Upstream); i++ {
		if c := v.Upstream[i]; !isAlnum(c) && !strings.ContainsRune(".-+~:", rune(c)) {
			return Version{}, fmt.Errorf("invalid character %q in upstream version", c)
		}
	}
	for i := 0; i < len(v.Revision); i++ {
		if c := v.Revision[i]; !isAlnum(c) && !strings.ContainsRune(".+~", rune(c)) {
			return Version{}, fmt.Errorf("invalid character %q in revision", c)
		}
	}
	return v, nil
}

// CompareVersions returns -1, 0 or +1 as a sorts before, equal to or after
// b in dpkg's order.
func CompareVersions(a, b Version) int {
	switch {
	case a.Epoch < b.Epoch:
		return -1
	case a.Epoch > b.Epoch:
		return 1
	}
	if c := compareFragment(a.Upstream, b.Upstream); c != 0 {
		return c
	}
	return compareFragment(a.Revision, b.Revision)
}

// compareFragment is dpkg's verrevcmp: alternate runs of non-digits,
// compared character by character with order, and runs of digits, compared
// numerically, without any limit on their length.
func compareFragment(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			ac, bc := order(a, i), order(b, j)
			if ac != bc {
				return sign(ac - bc)
			}
			i++
			j++
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		firstDiff := 0
		for i < len(a) && isDigit(a[i]) && j < len(b) && isDigit(b[j]) {
			if firstDiff == 0 {
				firstDiff = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if firstDiff != 0 {
			return sign(firstDiff)
		}
	}
	return 0
}

// order ranks the character at s[i] (end of string and digits rank 0):
// '~' sorts before everything, even the end of the string, and letters
// sort before all other characters.
func order(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	c := s[i]
	switch {
	case isDigit(c):
		return 0
	case isAlpha(c):
		return int(c)
	case c == '~':
		return -1
	default:
		return int(c) + 256
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }
