package deb

import (
	"os"
	"strings"
	"testing"
)

func TestPackageFromParagraph(t *testing.T) {
	stanza := `Package: python3.11-minimal
Version: 3.11.2-6+deb12u8
Architecture: amd64
Source: python3.11 (3.11.2-6)
Multi-Arch: allowed
Priority: optional
Pre-Depends: libc6 (>= 2.35)
Depends: libpython3.11-minimal (= 3.11.2-6+deb12u8), libexpat1 (>= 2.1~beta3), zlib1g (>= 1:1.2.0)
Provides: python3.11-profiler, python3-supported-max (= 3.11)
Filename: pool/main/p/python3.11/python3.11-minimal_3.11.2-6+deb12u8_amd64.deb
Size: 2064968
Installed-Size: 6766
SHA256: 4aba533f99ccee
`
	paras, err := ParseParagraphs(strings.NewReader(stanza))
	if err != nil {
		t.Fatal(err)
	}
	p, err := PackageFromParagraph(paras[0])
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "python3.11-minimal" || p.Version.String() != "3.11.2-6+deb12u8" || p.Source != "python3.11" ||
		p.Size != 2064968 || p.InstalledSize != 6766 || len(p.Depends) != 3 || len(p.PreDepends) != 1 ||
		len(p.Provides) != 2 || p.Provides[1].Op != OpEq || p.ID() != "python3.11-minimal:amd64" {
		t.Errorf("%+v", p)
	}
	for _, bad := range []string{"Version: 1.0\n", "Package: x\nVersion: ~~bad version\n", "Package: x\nVersion: 1\nSize: -3\n", "Package: x\nVersion: 1\nDepends: (\n"} {
		paras, err := ParseParagraphs(strings.NewReader(bad))
		if err != nil {
			continue
		}
		if _, err := PackageFromParagraph(paras[0]); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestPackagesOfThisHost(t *testing.T) {
	f, err := os.Open("testdata/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	paras, err := ParseParagraphs(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, para := range paras {
		if _, err := PackageFromParagraph(para); err != nil {
			t.Error(err)
		}
	}
}
