package debinstall

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/kiln-build/kiln/internal/deb"
	"github.com/kiln-build/kiln/internal/layer"
)

// Database writes the dpkg database for pkgs into tree: var/lib/dpkg/status
// holds the stanzas of baseStatus (the base image's status file; nil for
// none) byte for byte, except those of packages in pkgs, then one stanza per
// package of pkgs, sorted by name, marked "install ok installed";
// info/format is "1", so that dpkg reads the info/<name>:<arch>.list names
// of Multi-Arch: same packages; and each package gets its info .list,
// .md5sums and .conffiles. pkgs must come from Unpack.
func Database(tree *layer.Tree, baseStatus []byte, pkgs []*Unpacked) error {
	sorted := make([]*Unpacked, len(pkgs))
	copy(sorted, pkgs)
	for _, u := range sorted {
		if u == nil || u.Package == nil {
			return fmt.Errorf("dpkg database: a package did not come from Unpack")
		}
	}
	sort.Slice(sorted, func(i, j int) bool {
		a, b := sorted[i].Package, sorted[j].Package
		return a.Name < b.Name || a.Name == b.Name && a.Architecture < b.Architecture
	})
	for i := 1; i < len(sorted); i++ {
		if k := infoKey(sorted[i].Package); k == infoKey(sorted[i-1].Package) {
			return fmt.Errorf("dpkg database: package %s is given twice", k)
		}
	}
	base, err := splitStanzas(baseStatus)
	if err != nil {
		return fmt.Errorf("dpkg database: base status: %w", err)
	}
	var status bytes.Buffer
	for _, st := range base {
		if !replaced(st, sorted) {
			status.Write(st.text)
			status.WriteByte('\n')
		}
	}
	for _, u := range sorted {
		status.WriteString(statusStanza(u))
		status.WriteByte('\n')
	}
	files := []layer.Entry{
		{Path: "var/lib/dpkg/status", Kind: layer.Regular, Mode: 0o644, Data: status.Bytes()},
		{Path: infoDir + "format", Kind: layer.Regular, Mode: 0o644, Data: []byte("1\n")},
	}
	for _, u := range sorted {
		files = append(files, infoFiles(u)...)
	}
	for _, e := range files {
		if err := tree.Add(e); err != nil {
			return fmt.Errorf("dpkg database: %w", err)
		}
	}
	return nil
}

type stanza struct {
	text       []byte // as read, each line ending in "\n"
	name, arch string
}

// splitStanzas cuts a status file into its stanzas, keeping each one's
// bytes: re-serialising parsed fields would not give back what dpkg wrote
// (a Conffiles value starts on the line after its name).
func splitStanzas(b []byte) ([]stanza, error) {
	var out []stanza
	var cur []byte
	line := 1
	start := 1
	flush := func() error {
		if len(cur) == 0 {
			return nil
		}
		paras, err := deb.ParseParagraphs(bytes.NewReader(cur))
		if err != nil {
			return fmt.Errorf("stanza at line %d: %w", start, err)
		}
		if len(paras) != 1 {
			return fmt.Errorf("stanza at line %d: no fields", start)
		}
		name, _ := paras[0].Get("Package")
		arch, _ := paras[0].Get("Architecture")
		if name == "" {
			return fmt.Errorf("stanza at line %d: no Package", start)
		}
		out = append(out, stanza{text: cur, name: name, arch: arch})
		cur = nil
		return nil
	}
	for len(b) > 0 {
		l, rest, _ := bytes.Cut(b, []byte("\n"))
		b = rest
		if len(bytes.TrimSpace(l)) == 0 {
			if err := flush(); err != nil {
				return nil, err
			}
		} else {
			if len(cur) == 0 {
				start = line
			}
			cur = append(append(cur, l...), '\n')
		}
		line++
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// replaced reports whether one of pkgs takes the place of the base stanza:
// the same package, of the same architecture when it is Multi-Arch: same
// (other instances of those stay installed side by side).
func replaced(st stanza, pkgs []*Unpacked) bool {
	for _, u := range pkgs {
		if u.Package.Name == st.name && (u.Package.MultiArch != "same" || u.Package.Architecture == st.arch) {
			return true
		}
	}
	return false
}

// statusStanza is the control file with the fields dpkg adds once a
// package is installed: Status after Package, and Conffiles with the md5 of
// each shipped conffile before Description, where dpkg writes them.
func statusStanza(u *Unpacked) string {
	var b strings.Builder
	wroteConffiles := len(u.conffiles) == 0
	conffiles := func() {
		b.WriteString("Conffiles:\n")
		for _, c := range u.conffiles {
			fmt.Fprintf(&b, " %s %s\n", c.path, c.md5)
		}
		wroteConffiles = true
	}
	for _, l := range strings.Split(string(u.Control), "\n") {
		l = strings.TrimRight(l, " \t\r")
		// Control has one stanza (Unpack checked), so blank lines are only
		// around it; comments have no place in status.
		if l == "" || l[0] == '#' {
			continue
		}
		if !wroteConffiles && isField(l, "Description") {
			conffiles()
		}
		b.WriteString(l)
		b.WriteByte('\n')
		if isField(l, "Package") {
			b.WriteString("Status: install ok installed\n")
		}
	}
	if !wroteConffiles {
		conffiles()
	}
	return b.String()
}

func isField(line, name string) bool {
	return len(line) > len(name) && line[len(name)] == ':' && strings.EqualFold(line[:len(name)], name)
}
