// Package pep440 parses PEP 440 versions and version specifier sets and
// decides whether a version satisfies a set, with the semantics of pypa
// packaging (Version, Specifier.contains and SpecifierSet.contains with
// prereleases=True), which is what pip and uv apply to requires-python and to
// environment markers.
//
// It does not wrap github.com/aquasecurity/go-pep440-version: that module
// fails `==1.0.*` against `1` (its wildcard padding reads the wrong slice),
// rejects `===` with a non-version operand, local versions spelled with `-`
// in specifiers and the empty set, and accepts syntax PEP 440 does not
// (`||`, `=1.0`, a bare `1.0`, `>=1 <2` without a comma).
//
// Numeric components are kept as decimal strings so that versions of any
// size parse and compare exactly, as Python's unbounded ints do.
package pep440

import (
	"cmp"
	"fmt"
	"regexp"
	"strings"
)

// Version is a parsed PEP 440 version. The zero Version is "0".
type Version struct {
	epoch   num
	release []num
	pre     pre
	post    optNum
	dev     optNum
	// local holds the segments of the local label, lowercased, numeric
	// segments without leading zeros; nil when there is none.
	local []string
}

// pre is a pre-release segment; kind is "a", "b", "rc", or "" for none.
type pre struct {
	kind string
	n    num
}

type optNum struct {
	ok bool
	n  num
}

// versionRE is PEP 440's permissive grammar (the one packaging accepts),
// matched case-insensitively after surrounding whitespace is trimmed.
var versionRE = regexp.MustCompile(`(?i)^v?` +
	`(?:([0-9]+)!)?` + // epoch
	`([0-9]+(?:\.[0-9]+)*)` + // release
	`(?:[-_.]?(alpha|a|beta|b|preview|pre|c|rc)[-_.]?([0-9]+)?)?` + // pre
	`(?:-([0-9]+)|[-_.]?(post|rev|r)[-_.]?([0-9]+)?)?` + // post
	`(?:[-_.]?(dev)[-_.]?([0-9]+)?)?` + // dev
	`(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$`) // local

const (
	reEpoch = 1 + iota
	reRelease
	rePreL
	rePreN
	rePostN1
	rePostL
	rePostN2
	reDevL
	reDevN
	reLocal
)

var preKinds = map[string]string{
	"a": "a", "alpha": "a",
	"b": "b", "beta": "b",
	"rc": "rc", "c": "rc", "pre": "rc", "preview": "rc",
}

// ParseVersion parses a PEP 440 version, accepting the spellings that
// normalise to one (`v1.0`, `1.0-1`, `1.0alpha`, `1.0.DEV`, ...).
func ParseVersion(s string) (Version, error) {
	m := versionRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Version{}, fmt.Errorf("invalid version %q", s)
	}
	var v Version
	v.epoch = makeNum(m[reEpoch])
	for _, r := range strings.Split(m[reRelease], ".") {
		v.release = append(v.release, makeNum(r))
	}
	if m[rePreL] != "" {
		v.pre = pre{kind: preKinds[strings.ToLower(m[rePreL])], n: makeNum(m[rePreN])}
	}
	switch {
	case m[rePostN1] != "":
		v.post = optNum{ok: true, n: makeNum(m[rePostN1])}
	case m[rePostL] != "":
		v.post = optNum{ok: true, n: makeNum(m[rePostN2])}
	}
	if m[reDevL] != "" {
		v.dev = optNum{ok: true, n: makeNum(m[reDevN])}
	}
	if m[reLocal] != "" {
		for _, seg := range strings.FieldsFunc(strings.ToLower(m[reLocal]), isLocalSep) {
			if isDigits(seg) {
				seg = string(makeNum(seg))
			}
			v.local = append(v.local, seg)
		}
	}
	return v, nil
}

func isLocalSep(r rune) bool { return r == '.' || r == '-' || r == '_' }

// String returns the normalised form, e.g. "1!2.0rc1.post3.dev4+ubuntu.1".
func (v Version) String() string {
	var b strings.Builder
	if v.epoch.cmp("0") != 0 {
		b.WriteString(string(v.epoch))
		b.WriteByte('!')
	}
	v.writeRelease(&b)
	if v.pre.kind != "" {
		b.WriteString(v.pre.kind)
		b.WriteString(v.pre.n.String())
	}
	if v.post.ok {
		b.WriteString(".post")
		b.WriteString(v.post.n.String())
	}
	if v.dev.ok {
		b.WriteString(".dev")
		b.WriteString(v.dev.n.String())
	}
	if len(v.local) > 0 {
		b.WriteByte('+')
		b.WriteString(strings.Join(v.local, "."))
	}
	return b.String()
}

func (v Version) writeRelease(b *strings.Builder) {
	if len(v.release) == 0 {
		b.WriteByte('0')
		return
	}
	for i, r := range v.release {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(r.String())
	}
}

// Compare returns -1, 0 or +1 as v sorts before, equal to or after o in
// PEP 440 order (trailing zeros in the release are insignificant, dev <
// pre < final < post, a local label sorts after the same public version).
func (v Version) Compare(o Version) int {
	if c := v.comparePublic(o); c != 0 {
		return c
	}
	return compareLocal(v.local, o.local)
}

// comparePublic compares v and o ignoring their local labels.
func (v Version) comparePublic(o Version) int {
	if c := v.epoch.cmp(o.epoch); c != 0 {
		return c
	}
	if c := compareRelease(v.release, o.release); c != 0 {
		return c
	}
	if c := comparePre(v, o); c != 0 {
		return c
	}
	// A missing post-release sorts before any post-release.
	if c := compareOpt(v.post, o.post, -1); c != 0 {
		return c
	}
	// A missing dev-release sorts after any dev-release.
	return compareOpt(v.dev, o.dev, +1)
}

func compareRelease(a, b []num) int {
	for i := 0; i < max(len(a), len(b)); i++ {
		x, y := num("0"), num("0")
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if c := x.cmp(y); c != 0 {
			return c
		}
	}
	return 0
}

// preRank places a version without a pre-release relative to those with
// one: a bare dev release (1.0.dev0) sorts before 1.0a0, anything else
// without a pre-release after 1.0rcN.
func preRank(v Version) int {
	switch {
	case v.pre.kind != "":
		return 0
	case !v.post.ok && v.dev.ok:
		return -1
	default:
		return +1
	}
}

func comparePre(v, o Version) int {
	rv, ro := preRank(v), preRank(o)
	if rv != ro || rv != 0 {
		return cmp.Compare(rv, ro)
	}
	// "a" < "b" < "rc" happens to be byte order.
	if c := strings.Compare(v.pre.kind, o.pre.kind); c != 0 {
		return c
	}
	return v.pre.n.cmp(o.pre.n)
}

// compareOpt compares optional numbers, a missing one sorting as absent.
func compareOpt(a, b optNum, absent int) int {
	switch {
	case a.ok && b.ok:
		return a.n.cmp(b.n)
	case a.ok == b.ok:
		return 0
	case a.ok:
		return -absent
	default:
		return absent
	}
}

// compareLocal orders local labels: none first, then segment by segment
// with alphanumeric segments before numeric ones, numeric ones by value,
// and a label that is a prefix of another first.
func compareLocal(a, b []string) int {
	for i := 0; i < min(len(a), len(b)); i++ {
		x, y := a[i], b[i]
		xd, yd := isDigits(x), isDigits(y)
		var c int
		switch {
		case xd && yd:
			c = num(x).cmp(num(y))
		case xd:
			c = +1
		case yd:
			c = -1
		default:
			c = strings.Compare(x, y)
		}
		if c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

// isPrerelease reports a pre- or dev-release, as packaging's is_prerelease.
func (v Version) isPrerelease() bool { return v.pre.kind != "" || v.dev.ok }

// sameFamily reports whether v and o share epoch, release (ignoring trailing
// zeros) and pre-release: the versions PEP 440's exclusive comparisons
// treat as "the same release" as o.
func (v Version) sameFamily(o Version) bool {
	return v.epoch.cmp(o.epoch) == 0 && compareRelease(v.release, o.release) == 0 &&
		v.pre.kind == o.pre.kind && (v.pre.kind == "" || v.pre.n.cmp(o.pre.n) == 0)
}

// num is a non-negative decimal integer without leading zeros; "" reads as 0
// so that the zero Version is valid.
type num string

func makeNum(digits string) num {
	d := strings.TrimLeft(digits, "0")
	if d == "" {
		return "0"
	}
	return num(d)
}

func (n num) String() string {
	if n == "" {
		return "0"
	}
	return string(n)
}

func (n num) cmp(o num) int {
	a, b := n.String(), o.String()
	if len(a) != len(b) {
		return cmp.Compare(len(a), len(b))
	}
	return strings.Compare(a, b)
}

// plusOne returns n+1.
func (n num) plusOne() num {
	d := []byte(n.String())
	for i := len(d) - 1; i >= 0; i-- {
		if d[i] != '9' {
			d[i]++
			return num(d)
		}
		d[i] = '0'
	}
	return num("1" + string(d))
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Public returns v without its local label: what a wheel's METADATA may
// carry when its file name has a local version.
func (v Version) Public() Version {
	v.local = nil
	return v
}
