package deb

import (
	"errors"
	"fmt"
	"strings"
)

// Op is the comparison of a versioned relation.
type Op string

// Relation operators. dpkg's obsolete "<" and ">" are read as OpLessEq and
// OpGreaterEq, which is what they always meant.
const (
	OpNone      Op = ""
	OpLess      Op = "<<"
	OpLessEq    Op = "<="
	OpEq        Op = "="
	OpGreaterEq Op = ">="
	OpGreater   Op = ">>"
)

// Relation is one alternative of a relation field such as Depends:
// name[:arch] [(op version)] [arch list] <profiles>...
type Relation struct {
	Name string
	// Arch is the architecture qualifier after ':', such as "any".
	Arch    string
	Op      Op // OpNone when the relation is not versioned
	Version Version
	// Archs is the architecture restriction list, entries keeping any
	// leading '!'.
	Archs []string
	// Profiles is the build-profile formula: the relation applies if any
	// group's terms (each possibly negated with '!') all hold.
	Profiles [][]string
}

// String formats r in control-file syntax.
func (r Relation) String() string {
	var b strings.Builder
	b.WriteString(r.Name)
	if r.Arch != "" {
		b.WriteString(":" + r.Arch)
	}
	if r.Op != OpNone {
		fmt.Fprintf(&b, " (%s %s)", r.Op, r.Version)
	}
	if len(r.Archs) > 0 {
		b.WriteString(" [" + strings.Join(r.Archs, " ") + "]")
	}
	for _, g := range r.Profiles {
		b.WriteString(" <" + strings.Join(g, " ") + ">")
	}
	return b.String()
}

// SatisfiedBy reports whether version v meets r's version constraint.
// Names, architectures and profiles are the caller's business.
func (r Relation) SatisfiedBy(v Version) bool {
	if r.Op == OpNone {
		return true
	}
	c := CompareVersions(v, r.Version)
	switch r.Op {
	case OpLess:
		return c < 0
	case OpLessEq:
		return c <= 0
	case OpEq:
		return c == 0
	case OpGreaterEq:
		return c >= 0
	case OpGreater:
		return c > 0
	}
	return false
}

// ParseRelations parses a relation field: the outer slice is joined by ','
// (all must hold), each inner slice by '|' (any may hold). Newlines from
// continuation lines count as whitespace. Empty entries between commas,
// as left by substitution variables, are skipped; empty alternatives are
// errors.
func ParseRelations(s string) ([][]Relation, error) {
	var out [][]Relation
	for item := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		var alts []Relation
		for alt := range strings.SplitSeq(item, "|") {
			r, err := parseRelation(alt)
			if err != nil {
				return nil, fmt.Errorf("relation %q: %w", truncate(strings.TrimSpace(alt)), err)
			}
			alts = append(alts, r)
		}
		out = append(out, alts)
	}
	return out, nil
}

const space = " \t\r\n"

func parseRelation(s string) (Relation, error) {
	var r Relation
	s = strings.TrimLeft(s, space)
	if s == "" {
		return r, errors.New("empty alternative")
	}
	n := strings.IndexAny(s, space+":([<")
	if n < 0 {
		n = len(s)
	}
	r.Name, s = s[:n], s[n:]
	if err := checkName(r.Name); err != nil {
		return r, err
	}
	if rest, ok := strings.CutPrefix(s, ":"); ok {
		n := strings.IndexAny(rest, space+"([<")
		if n < 0 {
			n = len(rest)
		}
		r.Arch, s = rest[:n], rest[n:]
		if !isArch(r.Arch) {
			return r, fmt.Errorf("invalid architecture qualifier %q", r.Arch)
		}
	}
	s = strings.TrimLeft(s, space)
	if rest, ok := strings.CutPrefix(s, "("); ok {
		inner, after, ok := strings.Cut(rest, ")")
		if !ok {
			return r, errors.New("missing ')'")
		}
		if err := r.parseConstraint(inner); err != nil {
			return r, err
		}
		s = strings.TrimLeft(after, space)
	}
	if rest, ok := strings.CutPrefix(s, "["); ok {
		inner, after, ok := strings.Cut(rest, "]")
		if !ok {
			return r, errors.New("missing ']'")
		}
		r.Archs = strings.Fields(inner)
		if len(r.Archs) == 0 {
			return r, errors.New("empty architecture list")
		}
		for _, a := range r.Archs {
			if !isArch(strings.TrimPrefix(a, "!")) {
				return r, fmt.Errorf("invalid architecture %q", a)
			}
		}
		s = strings.TrimLeft(after, space)
	}
	for s != "" {
		rest, ok := strings.CutPrefix(s, "<")
		if !ok {
			return r, fmt.Errorf("unexpected %q", truncate(s))
		}
		inner, after, ok := strings.Cut(rest, ">")
		if !ok {
			return r, errors.New("missing '>'")
		}
		g := strings.Fields(inner)
		if len(g) == 0 {
			return r, errors.New("empty build profile group")
		}
		for _, p := range g {
			if !isProfile(strings.TrimPrefix(p, "!")) {
				return r, fmt.Errorf("invalid build profile %q", p)
			}
		}
		r.Profiles = append(r.Profiles, g)
		s = strings.TrimLeft(after, space)
	}
	return r, nil
}

// parseConstraint reads "op version" from inside the parentheses.
func (r *Relation) parseConstraint(s string) error {
	s = strings.TrimLeft(s, space)
	switch op := Op(s[:min(2, len(s))]); {
	case op == OpLess || op == OpLessEq || op == OpGreaterEq || op == OpGreater:
		r.Op, s = op, s[2:]
	case strings.HasPrefix(s, "="):
		r.Op, s = OpEq, s[1:]
	case strings.HasPrefix(s, "<"):
		r.Op, s = OpLessEq, s[1:]
	case strings.HasPrefix(s, ">"):
		r.Op, s = OpGreaterEq, s[1:]
	default:
		return fmt.Errorf("missing operator in (%s)", truncate(s))
	}
	v, err := ParseVersion(strings.TrimSpace(s))
	if err != nil {
		return err
	}
	r.Version = v
	return nil
}

// checkName applies dpkg's pkg_name_is_illegal rules.
func checkName(n string) error {
	if n == "" {
		return errors.New("missing package name")
	}
	if !isAlnum(n[0]) {
		return fmt.Errorf("package name %q must start with a letter or digit", truncate(n))
	}
	for i := 1; i < len(n); i++ {
		if c := n[i]; !isAlnum(c) && !strings.ContainsRune("-+._", rune(c)) {
			return fmt.Errorf("invalid character %q in package name %q", c, truncate(n))
		}
	}
	return nil
}

// isArch accepts architecture names and wildcards such as "amd64",
// "any", "linux-any" and "musl-linux-any".
func isArch(a string) bool {
	if a == "" || !isAlnum(a[0]) {
		return false
	}
	for i := 1; i < len(a); i++ {
		if c := a[i]; !isAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

func isProfile(p string) bool {
	if p == "" {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; !isAlnum(c) && !strings.ContainsRune("-+.", rune(c)) {
			return false
		}
	}
	return true
}
