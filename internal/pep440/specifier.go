package pep440

import (
	"fmt"
	"strings"
	"unicode"
)

// Specifier is one version clause such as ">=3.10", "==3.12.*" or "~=2.2".
type Specifier struct {
	op string
	// text is the operand as written (trimmed); String reproduces it and
	// `===` compares against it.
	text string
	// v is the parsed operand (the prefix before ".*" for wildcards); unset
	// for `===`.
	v        Version
	wildcard bool
}

// ParseSpecifier parses a single clause: an operator (~= == != <= >= < >
// ===) followed by a version, where == and != also take a ".*" wildcard or
// a local version, ~= needs at least two release components, and === takes
// any text without whitespace, ';' or ')'.
func ParseSpecifier(s string) (Specifier, error) {
	s = strings.TrimSpace(s)
	var op string
	switch {
	case strings.HasPrefix(s, "==="):
		op = "==="
	case strings.HasPrefix(s, "~="), strings.HasPrefix(s, "=="), strings.HasPrefix(s, "!="),
		strings.HasPrefix(s, "<="), strings.HasPrefix(s, ">="):
		op = s[:2]
	case strings.HasPrefix(s, "<"), strings.HasPrefix(s, ">"):
		op = s[:1]
	default:
		return Specifier{}, fmt.Errorf("invalid specifier %q: no comparison operator", s)
	}
	spec := Specifier{op: op, text: strings.TrimSpace(s[len(op):])}
	if op == "===" {
		if strings.ContainsFunc(spec.text, unicode.IsSpace) || strings.ContainsAny(spec.text, ";)") {
			return Specifier{}, fmt.Errorf("invalid specifier %q: === operand contains whitespace, ';' or ')'", s)
		}
		return spec, nil
	}
	operand := spec.text
	if (op == "==" || op == "!=") && strings.HasSuffix(operand, ".*") {
		spec.wildcard = true
		operand = strings.TrimSuffix(operand, ".*")
	}
	v, err := ParseVersion(operand)
	if err != nil || operand != strings.TrimSpace(operand) {
		return Specifier{}, fmt.Errorf("invalid specifier %q: %q is not a version", s, spec.text)
	}
	switch {
	case spec.wildcard && (v.pre.kind != "" || v.post.ok || v.dev.ok || v.local != nil):
		return Specifier{}, fmt.Errorf("invalid specifier %q: a .* wildcard must follow the release number", s)
	case v.local != nil && op != "==" && op != "!=":
		return Specifier{}, fmt.Errorf("invalid specifier %q: only == and != take a local version", s)
	case op == "~=" && len(v.release) < 2:
		return Specifier{}, fmt.Errorf("invalid specifier %q: ~= needs at least two release components", s)
	}
	spec.v = v
	return spec, nil
}

// String returns the clause as written, without surrounding whitespace.
func (s Specifier) String() string { return s.op + s.text }

// Contains reports whether v satisfies the clause. Pre-releases are not
// excluded (packaging's contains(v, prereleases=True)), but the exclusive
// bounds keep PEP 440's rules: <3.1 rejects 3.1rc1 and >3.1 rejects
// 3.1.post1 and 3.1+local.
func (s Specifier) Contains(v Version) bool {
	switch s.op {
	case "===":
		return strings.EqualFold(v.String(), s.text)
	case "==":
		return s.equal(v)
	case "!=":
		return !s.equal(v)
	case ">=":
		return v.Compare(s.v) >= 0
	case "<=":
		return v.comparePublic(s.v) <= 0
	case "<":
		bound := s.v
		if !bound.isPrerelease() {
			// Exclude 3.1's own pre-releases from <3.1: the bound becomes
			// 3.1.dev0, the first of them.
			bound.dev = optNum{ok: true, n: "0"}
		}
		return v.Compare(bound) < 0
	case ">":
		return s.greater(v)
	case "~=":
		// ~=2.2.3 is >=2.2.3 and ==2.2.*, i.e. below 2.3.dev0; any pre/post/
		// dev suffix of the operand only moves the lower bound.
		prefix := Version{epoch: s.v.epoch, release: s.v.release[:len(s.v.release)-1]}
		return v.Compare(s.v) >= 0 && v.Compare(nextPrefixDev0(prefix)) < 0
	}
	return false
}

// ContainsString is Contains for a version given as text, as packaging's
// contains(str): text that is not a valid version only ever satisfies ===,
// which compares the text itself, case-insensitively.
func (s Specifier) ContainsString(v string) bool {
	if s.op == "===" {
		return strings.EqualFold(v, s.text)
	}
	pv, err := ParseVersion(v)
	if err != nil {
		return false
	}
	return s.Contains(pv)
}

func (s Specifier) equal(v Version) bool {
	if s.wildcard {
		// ==1.2.* is the range [1.2.dev0, 1.3.dev0).
		base := Version{epoch: s.v.epoch, release: s.v.release, dev: optNum{ok: true, n: "0"}}
		return v.Compare(base) >= 0 && v.Compare(nextPrefixDev0(s.v)) < 0
	}
	if s.v.local != nil {
		return v.Compare(s.v) == 0
	}
	// Without a local label in the specifier, any local label matches.
	return v.comparePublic(s.v) == 0
}

func (s Specifier) greater(v Version) bool {
	switch {
	case s.v.dev.ok:
		// >1.0.dev1 starts at 1.0.dev2: nothing sorts between them but
		// 1.0.dev1's local versions.
		next := s.v
		next.dev.n = next.dev.n.plusOne()
		return v.Compare(next) >= 0
	case s.v.post.ok:
		next := s.v
		next.post.n = next.post.n.plusOne()
		next.dev = optNum{ok: true, n: "0"}
		return v.Compare(next) >= 0
	}
	// >1.0 excludes 1.0's post-releases and local versions, which sort
	// above 1.0 but belong to it.
	return v.Compare(s.v) > 0 && !v.sameFamily(s.v)
}

// nextPrefixDev0 returns the smallest version after every version starting
// with p's release: 1.2 -> 1.3.dev0.
func nextPrefixDev0(p Version) Version {
	release := append([]num(nil), p.release...)
	if len(release) == 0 {
		release = []num{"0"}
	}
	release[len(release)-1] = release[len(release)-1].plusOne()
	return Version{epoch: p.epoch, release: release, dev: optNum{ok: true, n: "0"}}
}

// Specifiers is a comma-separated set of clauses, all of which must hold.
// The empty set matches every version.
type Specifiers struct {
	specs []Specifier
}

// ParseSpecifiers parses a comma-separated specifier set such as
// ">=3.10.0, <4.0". Empty items are ignored, as packaging does.
func ParseSpecifiers(s string) (Specifiers, error) {
	var set Specifiers
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		spec, err := ParseSpecifier(part)
		if err != nil {
			return Specifiers{}, fmt.Errorf("specifier set %q: %w", s, err)
		}
		set.specs = append(set.specs, spec)
	}
	return set, nil
}

// Contains reports whether v satisfies every clause; pre-releases of v are
// allowed, as for requires-python and markers.
func (s Specifiers) Contains(v Version) bool {
	for _, spec := range s.specs {
		if !spec.Contains(v) {
			return false
		}
	}
	return true
}

// String returns the clauses in their original order joined by ",".
func (s Specifiers) String() string {
	parts := make([]string, len(s.specs))
	for i, spec := range s.specs {
		parts[i] = spec.String()
	}
	return strings.Join(parts, ",")
}
