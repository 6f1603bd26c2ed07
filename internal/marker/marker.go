// Package marker parses and evaluates PEP 508 environment markers
// (`python_version >= "3.9" and sys_platform == "linux"`) the way pypa
// packaging does, for a target environment rather than the running host.
package marker

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/kiln-build/kiln/internal/pyname"
)

// Marker is a parsed marker expression. The zero Marker, and a nil *Marker,
// is the empty marker, which is always true.
type Marker struct {
	expr expr
}

// expr is a boolExpr or a compare.
type expr interface {
	eval(e *evaluation) (bool, error)
	format(b *strings.Builder, inAnd bool)
}

// boolExpr is a run of two or more terms joined by the same operator; runs
// are flattened while parsing, so a boolExpr never directly holds another of
// the same kind.
type boolExpr struct {
	or    bool
	terms []expr
}

// compare is `left op right` where exactly one side is a variable.
type compare struct {
	left, right operand
	op          string
}

// operand is a variable (name set, canonical spelling) or a literal string.
type operand struct {
	name  string
	value string
}

// variables maps every accepted spelling to the canonical name; the dotted
// and python_implementation forms are legacy spellings packaging still
// accepts.
var variables = map[string]string{
	"implementation_name":            "implementation_name",
	"implementation_version":         "implementation_version",
	"os_name":                        "os_name",
	"platform_machine":               "platform_machine",
	"platform_python_implementation": "platform_python_implementation",
	"platform_release":               "platform_release",
	"platform_system":                "platform_system",
	"platform_version":               "platform_version",
	"python_full_version":            "python_full_version",
	"python_version":                 "python_version",
	"sys_platform":                   "sys_platform",
	"extra":                          "extra",
	"extras":                         "extras",
	"dependency_groups":              "dependency_groups",

	"os.name":                        "os_name",
	"sys.platform":                   "sys_platform",
	"platform.version":               "platform_version",
	"platform.machine":               "platform_machine",
	"platform.python_implementation": "platform_python_implementation",
	"python_implementation":          "platform_python_implementation",
}

// maxDepth bounds parenthesis nesting so hostile input cannot exhaust the
// stack; real markers nest two or three levels.
const maxDepth = 100

// Parse parses a marker expression. Blank text yields the empty marker.
// Errors name the marker text and the byte position of the problem.
func Parse(s string) (*Marker, error) {
	p := &parser{src: s}
	if err := p.lex(); err != nil {
		return nil, err
	}
	if p.peek().kind == tokEOF {
		return &Marker{}, nil
	}
	e, err := p.parseJoined(0, true)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.errorf(t.pos, "expected 'and', 'or' or the end, found %s", describe(t))
	}
	return &Marker{expr: e}, nil
}

// String returns the marker in a normal form that Parse reads back to the
// same marker: double-quoted values, canonical variable names, single
// spaces, and parentheses only where `or` nests inside `and`.
func (m *Marker) String() string {
	if m == nil || m.expr == nil {
		return ""
	}
	var b strings.Builder
	m.expr.format(&b, false)
	return b.String()
}

func (x boolExpr) format(b *strings.Builder, inAnd bool) {
	paren := x.or && inAnd
	if paren {
		b.WriteByte('(')
	}
	sep := " and "
	if x.or {
		sep = " or "
	}
	for i, t := range x.terms {
		if i > 0 {
			b.WriteString(sep)
		}
		t.format(b, !x.or)
	}
	if paren {
		b.WriteByte(')')
	}
}

func (c compare) format(b *strings.Builder, _ bool) {
	c.left.format(b)
	b.WriteByte(' ')
	b.WriteString(c.op)
	b.WriteByte(' ')
	c.right.format(b)
}

func (o operand) format(b *strings.Builder) {
	if o.name != "" {
		b.WriteString(o.name)
		return
	}
	// Marker strings have no escapes; a value holding a double quote can
	// only have been written in single quotes.
	q := byte('"')
	if strings.Contains(o.value, `"`) {
		q = '\''
	}
	b.WriteByte(q)
	b.WriteString(o.value)
	b.WriteByte(q)
}

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokLParen
	tokRParen
	tokString
	tokOp
	tokWord
)

type token struct {
	kind tokenKind
	text string // for tokString, the contents without quotes
	pos  int
}

type parser struct {
	src    string
	tokens []token
	i      int
}

func (p *parser) errorf(pos int, format string, args ...any) error {
	return fmt.Errorf("marker %q: %s at position %d", p.src, fmt.Sprintf(format, args...), pos)
}

var wordRE = regexp.MustCompile(`^[A-Za-z0-9_.]+`)

// lex splits the source into tokens. Only spaces and tabs separate tokens,
// as in PEP 508.
func (p *parser) lex() error {
	s := p.src
	for i := 0; ; {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i == len(s) {
			p.tokens = append(p.tokens, token{kind: tokEOF, pos: i})
			return nil
		}
		switch c := s[i]; {
		case c == '(':
			p.tokens = append(p.tokens, token{kind: tokLParen, text: "(", pos: i})
			i++
		case c == ')':
			p.tokens = append(p.tokens, token{kind: tokRParen, text: ")", pos: i})
			i++
		case c == '\'' || c == '"':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return p.errorf(i, "unterminated string")
			}
			p.tokens = append(p.tokens, token{kind: tokString, text: s[i+1 : i+1+end], pos: i})
			i += end + 2
		case strings.ContainsRune("=!~<>", rune(c)):
			op := ""
			for _, o := range []string{"===", "==", "~=", "!=", "<=", ">=", "<", ">"} {
				if strings.HasPrefix(s[i:], o) {
					op = o
					break
				}
			}
			if op == "" {
				return p.errorf(i, "invalid operator %q", s[i:i+1])
			}
			p.tokens = append(p.tokens, token{kind: tokOp, text: op, pos: i})
			i += len(op)
		default:
			w := wordRE.FindString(s[i:])
			if w == "" {
				r, _ := utf8.DecodeRuneInString(s[i:])
				return p.errorf(i, "unexpected character %q", r)
			}
			p.tokens = append(p.tokens, token{kind: tokWord, text: w, pos: i})
			i += len(w)
		}
	}
}

func (p *parser) peek() token { return p.tokens[p.i] }

func (p *parser) next() token {
	t := p.tokens[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) isWord(w string) bool {
	t := p.peek()
	return t.kind == tokWord && t.text == w
}

// parseJoined parses terms joined by `or` (or == true) or `and`, where the
// terms of an `or` are `and` runs and the terms of an `and` are atoms.
func (p *parser) parseJoined(depth int, or bool) (expr, error) {
	word := "and"
	if or {
		word = "or"
	}
	var terms []expr
	for {
		var t expr
		var err error
		if or {
			t, err = p.parseJoined(depth, false)
		} else {
			t, err = p.parseAtom(depth)
		}
		if err != nil {
			return nil, err
		}
		if same, ok := t.(boolExpr); ok && same.or == or {
			terms = append(terms, same.terms...)
		} else {
			terms = append(terms, t)
		}
		if !p.isWord(word) {
			break
		}
		p.next()
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return boolExpr{or: or, terms: terms}, nil
}

func (p *parser) parseAtom(depth int) (expr, error) {
	if t := p.peek(); t.kind == tokLParen {
		if depth >= maxDepth {
			return nil, p.errorf(t.pos, "parentheses nested more than %d deep", maxDepth)
		}
		p.next()
		e, err := p.parseJoined(depth+1, true)
		if err != nil {
			return nil, err
		}
		if t := p.next(); t.kind != tokRParen {
			return nil, p.errorf(t.pos, "expected ')', found %s", describe(t))
		}
		return e, nil
	}
	left, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	opPos := p.peek().pos
	op, err := p.parseOp()
	if err != nil {
		return nil, err
	}
	right, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	switch {
	case left.name != "" && right.name != "":
		return nil, p.errorf(opPos, "compares two variables (%s, %s)", left.name, right.name)
	case left.name == "" && right.name == "":
		return nil, p.errorf(opPos, "compares two strings (%q, %q)", left.value, right.value)
	}
	// packaging normalises the name compared with `extra` when parsing, so
	// the normal form shows it normalised too.
	if left.name == "extra" {
		right.value = pyname.Normalize(right.value)
	} else if right.name == "extra" {
		left.value = pyname.Normalize(left.value)
	}
	return compare{left: left, op: op, right: right}, nil
}

func (p *parser) parseOperand() (operand, error) {
	t := p.next()
	switch t.kind {
	case tokString:
		return operand{value: t.text}, nil
	case tokWord:
		if name, ok := variables[t.text]; ok {
			return operand{name: name}, nil
		}
		keyword := t.text == "and" || t.text == "or" || t.text == "not" || t.text == "in"
		if c := t.text[0]; !keyword && (c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return operand{}, p.errorf(t.pos, "unknown variable %q", t.text)
		}
	}
	return operand{}, p.errorf(t.pos, "expected a marker variable, a quoted string or '(', found %s", describe(t))
}

func (p *parser) parseOp() (string, error) {
	t := p.next()
	switch {
	case t.kind == tokOp:
		return t.text, nil
	case t.kind == tokWord && t.text == "in":
		return "in", nil
	case t.kind == tokWord && t.text == "not":
		if u := p.next(); u.kind != tokWord || u.text != "in" {
			return "", p.errorf(u.pos, "expected 'in' after 'not', found %s", describe(u))
		}
		return "not in", nil
	}
	return "", p.errorf(t.pos, "expected a comparison operator, found %s", describe(t))
}

func describe(t token) string {
	switch t.kind {
	case tokEOF:
		return "the end"
	case tokString:
		return fmt.Sprintf("string %q", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}
