package deb

import (
	"fmt"
	"strconv"
	"strings"
)

// Package is one binary package as a Packages index or a dpkg status file
// describes it.
type Package struct {
	Name          string
	Version       Version
	Architecture  string // "amd64", "arm64", "all"
	MultiArch     string // "", "same", "foreign", "allowed"
	Priority      string // "required", "important", "standard", "optional", "extra"
	Essential     bool
	Source        string // source package name, without a version
	Depends       [][]Relation
	PreDepends    [][]Relation
	Provides      []Relation // each unversioned or "= version"
	Filename      string     // pool path relative to the mirror root; "" in a status file
	Size          int64
	SHA256        string // hex
	InstalledSize int64  // KiB
	// Paragraph is the stanza as read, for writing the dpkg status entry.
	Paragraph Paragraph
}

// ID is name:arch, as dpkg names a package of a multi-arch system.
func (p *Package) ID() string { return p.Name + ":" + p.Architecture }

// PackageFromParagraph reads the fields kiln uses from one stanza. A stanza
// without Package or Version, or with a field that does not parse, is an
// error naming the package and the field.
func PackageFromParagraph(para Paragraph) (*Package, error) {
	name, _ := para.Get("Package")
	if name == "" {
		return nil, fmt.Errorf("stanza at line %d has no Package", para.Line)
	}
	p := &Package{Name: name, Paragraph: para}
	vs, _ := para.Get("Version")
	v, err := ParseVersion(vs)
	if err != nil {
		return nil, fmt.Errorf("package %s: Version: %w", name, err)
	}
	p.Version = v
	p.Architecture, _ = para.Get("Architecture")
	p.MultiArch, _ = para.Get("Multi-Arch")
	p.Priority, _ = para.Get("Priority")
	ess, _ := para.Get("Essential")
	p.Essential = strings.EqualFold(ess, "yes")
	src, _ := para.Get("Source")
	p.Source, _, _ = strings.Cut(src, " ")
	if p.Source == "" {
		p.Source = name
	}
	for _, f := range []struct {
		field string
		dst   *[][]Relation
	}{{"Depends", &p.Depends}, {"Pre-Depends", &p.PreDepends}} {
		if s, ok := para.Get(f.field); ok {
			rels, err := ParseRelations(s)
			if err != nil {
				return nil, fmt.Errorf("package %s %s: %s: %w", name, vs, f.field, err)
			}
			*f.dst = rels
		}
	}
	if s, ok := para.Get("Provides"); ok {
		rels, err := ParseRelations(s)
		if err != nil {
			return nil, fmt.Errorf("package %s %s: Provides: %w", name, vs, err)
		}
		for _, alts := range rels {
			p.Provides = append(p.Provides, alts...)
		}
	}
	p.Filename, _ = para.Get("Filename")
	p.SHA256, _ = para.Get("SHA256")
	for _, f := range []struct {
		field string
		dst   *int64
	}{{"Size", &p.Size}, {"Installed-Size", &p.InstalledSize}} {
		if s, ok := para.Get(f.field); ok {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("package %s %s: %s %q is not a size", name, vs, f.field, s)
			}
			*f.dst = n
		}
	}
	return p, nil
}
