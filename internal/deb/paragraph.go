package deb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Field is one "Name: value" entry of a paragraph.
//
// Value is stored as dpkg stores it: surrounding whitespace is trimmed and
// continuation lines are kept, each after a "\n" with its leading
// whitespace, so a Description reads "synopsis\n line\n .\n line".
// Trailing whitespace of each line is dropped; it carries no meaning.
type Field struct {
	Name  string
	Value string
}

// Paragraph is one stanza of a deb822 file, with its fields in file order.
type Paragraph struct {
	// Line is the 1-based line number of the paragraph's first field, so
	// callers can point at the entry a bad value came from.
	Line   int
	Fields []Field
}

// Get returns the value of the named field, matching names
// case-insensitively as deb822 requires.
func (p Paragraph) Get(name string) (string, bool) {
	// A linear scan beats a map: stanzas hold about 15 fields.
	for _, f := range p.Fields {
		if strings.EqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

// Lines returns the named field's value split into lines, with the
// one-character continuation indent removed and the " ." placeholder
// turned back into an empty line. It suits multi-line fields such as
// Description, Conffiles or the SHA256 list of a Release file.
func (p Paragraph) Lines(name string) []string {
	v, ok := p.Get(name)
	if !ok || v == "" {
		return nil
	}
	lines := strings.Split(v, "\n")
	for i, l := range lines {
		if i > 0 {
			l = l[1:] // continuation lines always start with a space or tab
		}
		if l == "." {
			l = ""
		}
		lines[i] = l
	}
	return lines
}

// Reader reads paragraphs one at a time, so that a Packages index of tens
// of megabytes never has to be held in memory.
type Reader struct {
	r    *bufio.Reader
	line int
	err  error
	// seen holds the lower-cased names of the current paragraph's fields;
	// it is reused so duplicate detection stays linear without
	// allocating a map per paragraph.
	seen map[string]struct{}
}

// NewReader returns a Reader that parses deb822 paragraphs from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), seen: make(map[string]struct{})}
}

// ParseParagraphs reads every paragraph from r.
func ParseParagraphs(r io.Reader) ([]Paragraph, error) {
	var ps []Paragraph
	pr := NewReader(r)
	for {
		p, err := pr.Next()
		if err == io.EOF {
			return ps, nil
		}
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
}

// readLine returns the next line without its line ending and trailing
// whitespace; lines of any length are accepted.
func (r *Reader) readLine() (string, error) {
	s, err := r.r.ReadString('\n')
	if err == io.EOF && s != "" {
		err = nil
	}
	if err != nil {
		return "", err
	}
	r.line++
	return strings.TrimRight(s, " \t\r\n"), nil
}

// Next returns the next paragraph, or io.EOF after the last one.
//
// Paragraphs are separated by lines that are empty or hold only blanks, as
// deb822(5) permits. Lines starting with '#' in the first column are
// comments and skipped; a field name can never start with '#', so this is
// unambiguous. A '#' anywhere else is part of a value.
func (r *Reader) Next() (Paragraph, error) {
	if r.err != nil {
		return Paragraph{}, r.err
	}
	p, err := r.next()
	if err != nil {
		r.err = err
	}
	return p, err
}

func (r *Reader) next() (Paragraph, error) {
	var (
		p   Paragraph
		val strings.Builder
		cur = -1 // index in p.Fields of the field being continued
	)
	clear(r.seen)
	flush := func() {
		if cur >= 0 {
			p.Fields[cur].Value = strings.TrimSpace(val.String())
		}
	}
	for {
		line, err := r.readLine()
		if err == io.EOF {
			if len(p.Fields) == 0 {
				return Paragraph{}, io.EOF
			}
			flush()
			return p, nil
		}
		if err != nil {
			return Paragraph{}, fmt.Errorf("line %d: %w", r.line+1, err)
		}
		switch {
		case line == "":
			if len(p.Fields) > 0 {
				flush()
				return p, nil
			}
		case line[0] == '#':
		case line[0] == ' ' || line[0] == '\t':
			if cur < 0 {
				return Paragraph{}, fmt.Errorf("line %d: continuation line outside a field", r.line)
			}
			val.WriteByte('\n')
			val.WriteString(line)
		default:
			name, value, err := splitField(line)
			if err != nil {
				return Paragraph{}, fmt.Errorf("line %d: %w", r.line, err)
			}
			key := strings.ToLower(name)
			if _, dup := r.seen[key]; dup {
				return Paragraph{}, fmt.Errorf("line %d: duplicate field %q", r.line, name)
			}
			r.seen[key] = struct{}{}
			flush()
			if len(p.Fields) == 0 {
				p.Line = r.line
			}
			p.Fields = append(p.Fields, Field{Name: name})
			cur = len(p.Fields) - 1
			val.Reset()
			val.WriteString(value)
		}
	}
}

// splitField splits a "Name: value" line, checking the name against the
// deb822 field-name grammar.
func splitField(line string) (name, value string, err error) {
	name, value, ok := strings.Cut(line, ":")
	if !ok {
		return "", "", fmt.Errorf("no colon in field line %q", truncate(line))
	}
	if name == "" {
		return "", "", errors.New("empty field name")
	}
	if name[0] == '-' {
		return "", "", fmt.Errorf("field name %q starts with '-'", truncate(name))
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c > '~' {
			return "", "", fmt.Errorf("invalid character %q in field name %q", c, truncate(name))
		}
	}
	return name, strings.TrimLeft(value, " \t"), nil
}

// truncate keeps error messages short when fed a huge garbage line.
func truncate(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
