package deb

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseParagraphs(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []Paragraph
	}{{
		name: "empty",
		in:   "\n\n  \n",
	}, {
		name: "order and separators",
		in:   "\n\nPackage: a\nVersion: 1\n\n\n \t\nPackage: b\nZ: 1\nA:2",
		want: []Paragraph{
			{Line: 3, Fields: []Field{{"Package", "a"}, {"Version", "1"}}},
			{Line: 8, Fields: []Field{{"Package", "b"}, {"Z", "1"}, {"A", "2"}}},
		},
	}, {
		name: "continuation lines as dpkg stores them",
		in: "Package: a\nDescription: short  \n long line\n .\n \t  indented\t\n" +
			"Conffiles:\n /etc/a 123\n /etc/b 456\n",
		want: []Paragraph{{Line: 1, Fields: []Field{
			{"Package", "a"},
			{"Description", "short\n long line\n .\n \t  indented"},
			{"Conffiles", "/etc/a 123\n /etc/b 456"},
		}}},
	}, {
		name: "CRLF and empty value",
		in:   "Package: a\r\nEssential:\r\n\r\nPackage: b\r\n",
		want: []Paragraph{
			{Line: 1, Fields: []Field{{"Package", "a"}, {"Essential", ""}}},
			{Line: 4, Fields: []Field{{"Package", "b"}}},
		},
	}, {
		name: "comments only in column one",
		in:   "# head\nSource: a\n# inside\nBuild-Depends: x,\n# between continuation lines\n y # not a comment\nX: #v\n",
		want: []Paragraph{{Line: 2, Fields: []Field{
			{"Source", "a"},
			{"Build-Depends", "x,\n y # not a comment"},
			{"X", "#v"},
		}}},
	}, {
		name: "colon in value",
		in:   "Homepage: https://example.org:8080/x\n",
		want: []Paragraph{{Line: 1, Fields: []Field{{"Homepage", "https://example.org:8080/x"}}}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseParagraphs(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseParagraphsErrors(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{" leading continuation\n", "line 1: continuation line outside a field"},
		{"A: 1\n\n\tafter blank\n", "line 3: continuation line outside a field"},
		{"A: 1\nno colon here\n", `line 2: no colon in field line "no colon here"`},
		{"A: 1\n: v\n", "line 2: empty field name"},
		{"-A: 1\n", "line 1: field name \"-A\" starts with '-'"},
		{"A B: 1\n", `line 1: invalid character ' ' in field name "A B"`},
		{"Package: a\nVersion: 1\npackage: b\n", `line 3: duplicate field "package"`},
	} {
		_, err := ParseParagraphs(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseParagraphs(%q) = %v, want error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestReaderStopsAfterError(t *testing.T) {
	r := NewReader(strings.NewReader("A: 1\n\nbad\n\nB: 2\n"))
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	_, err1 := r.Next()
	_, err2 := r.Next()
	if err1 == nil || err2 != err1 {
		t.Errorf("errors %v then %v, want the same error twice", err1, err2)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestReadError(t *testing.T) {
	_, err := ParseParagraphs(io.MultiReader(strings.NewReader("A: 1\n"), failingReader{}))
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("got %v, want the read error", err)
	}
}

func TestGetAndLines(t *testing.T) {
	ps, err := ParseParagraphs(strings.NewReader(
		"Description: synopsis\n first\n .\n  verbatim\nSHA256:\n abc 12 main/Packages\n def 34 main/Packages.xz\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := ps[0]
	if v, ok := p.Get("description"); !ok || !strings.HasPrefix(v, "synopsis\n") {
		t.Errorf("Get(description) = %q, %v", v, ok)
	}
	if _, ok := p.Get("Missing"); ok {
		t.Error("Get(Missing) found a field")
	}
	if got, want := p.Lines("DESCRIPTION"), []string{"synopsis", "first", "", " verbatim"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Lines(Description) = %q, want %q", got, want)
	}
	if got, want := p.Lines("sha256"), []string{"abc 12 main/Packages", "def 34 main/Packages.xz"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Lines(SHA256) = %q, want %q", got, want)
	}
	if got := p.Lines("Missing"); got != nil {
		t.Errorf("Lines(Missing) = %q", got)
	}
}

func TestLongLinesAndFields(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	long := strings.Repeat("x", 1<<20)
	var b strings.Builder
	b.WriteString("Package: big\nLong: " + long + "\nMany:\n")
	const n = 200000
	for range n {
		b.WriteString(" line\n")
	}
	ps, err := ParseParagraphs(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := ps[0].Get("Long"); v != long {
		t.Errorf("long field has %d bytes, want %d", len(v), len(long))
	}
	if got := len(ps[0].Lines("Many")); got != n {
		t.Errorf("Many has %d lines, want %d", got, n)
	}
}

// checkStatus checks a dpkg status database: every stanza names a package
// with a valid version, and its relation fields parse.
func checkStatus(t *testing.T, data []byte) []Paragraph {
	t.Helper()
	ps, err := ParseParagraphs(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if want := bytes.Count(data, []byte("\nPackage: ")) + 1; len(ps) != want {
		t.Errorf("got %d paragraphs, want %d", len(ps), want)
	}
	for _, p := range ps {
		name, ok := p.Get("Package")
		if !ok {
			t.Errorf("paragraph at line %d has no Package", p.Line)
			continue
		}
		if v, ok := p.Get("Version"); ok {
			if _, err := ParseVersion(v); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
		for _, f := range []string{"Depends", "Pre-Depends", "Recommends", "Suggests", "Breaks", "Conflicts", "Replaces", "Provides", "Enhances"} {
			if v, ok := p.Get(f); ok {
				if _, err := ParseRelations(v); err != nil {
					t.Errorf("%s %s: %v", name, f, err)
				}
			}
		}
	}
	return ps
}

func TestStatusFixture(t *testing.T) {
	data, err := os.ReadFile("testdata/status")
	if err != nil {
		t.Fatal(err)
	}
	ps := checkStatus(t, data)
	p := ps[0]
	if name, _ := p.Get("Package"); name != "adduser" {
		t.Fatalf("first package %q, want adduser", name)
	}
	if got := p.Lines("Conffiles"); len(got) != 2 || !strings.HasPrefix(got[1], "/etc/deluser.conf ") {
		t.Errorf("adduser Conffiles = %q", got)
	}
	deps, _ := p.Get("Depends")
	rels, err := ParseRelations(deps)
	if err != nil || len(rels) == 0 || rels[0][0].Name == "" {
		t.Errorf("adduser Depends %q = %v, %v", deps, rels, err)
	}
}

func TestHostStatus(t *testing.T) {
	data, err := os.ReadFile("/var/lib/dpkg/status")
	if err != nil {
		t.Skip(err)
	}
	checkStatus(t, data)
}

// format writes paragraphs back in deb822 syntax, for round-trip tests.
func format(ps []Paragraph) string {
	var b strings.Builder
	for _, p := range ps {
		for _, f := range p.Fields {
			fmt.Fprintf(&b, "%s: %s\n", f.Name, f.Value)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func FuzzParseParagraphs(f *testing.F) {
	f.Add("Package: a\nVersion: 1\n\nPackage: b\nDescription: x\n y\n .\n z\n")
	f.Add("# c\nA:\n b\r\n\t\n-B: 1\n")
	f.Add("A: 1\nA: 2\n")
	if data, err := os.ReadFile("testdata/status"); err == nil {
		f.Add(string(data))
	}
	f.Fuzz(func(t *testing.T, in string) {
		ps, err := ParseParagraphs(strings.NewReader(in))
		if err != nil {
			if !strings.Contains(err.Error(), "line ") {
				t.Errorf("error without a line number: %v", err)
			}
			return
		}
		for _, p := range ps {
			if len(p.Fields) == 0 || p.Line < 1 {
				t.Fatalf("bad paragraph %+v", p)
			}
		}
		// Formatting loses comments and line numbers but nothing else.
		again, err := ParseParagraphs(strings.NewReader(format(ps)))
		if err != nil {
			t.Fatalf("reparse of %q: %v", format(ps), err)
		}
		if len(again) != len(ps) {
			t.Fatalf("reparse gave %d paragraphs, want %d", len(again), len(ps))
		}
		for i := range ps {
			if !reflect.DeepEqual(again[i].Fields, ps[i].Fields) {
				t.Fatalf("reparse gave %q, want %q", again[i].Fields, ps[i].Fields)
			}
		}
	})
}

func BenchmarkParseParagraphs(b *testing.B) {
	data, err := os.ReadFile("testdata/status")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseParagraphs(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
