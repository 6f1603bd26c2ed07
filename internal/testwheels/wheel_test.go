package testwheels

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/pyname"
)

func sampleSpec() *wheelSpec {
	return &wheelSpec{
		name:      "Demo.Pkg",
		version:   "1.2.3",
		tag:       "py3-none-any",
		generator: "test",
		files: map[string]wheelFile{
			"demo_pkg/__init__.py": {data: []byte("X = 1\n")},
			"demo_pkg/z,odd.py":    {data: []byte("# comma in the name\n")},
			"demo_pkg/tool.sh":     {data: []byte("#!/bin/sh\n"), exec: true},
			"aaa.pth":              {data: []byte("import os\n")},
		},
		metadata:    []byte("Metadata-Version: 2.1\nName: Demo.Pkg\nVersion: 1.2.3\n"),
		entryPoints: []byte("[console_scripts]\ndemo = demo_pkg:main\n"),
	}
}

func TestWriteWheelIsReproducible(t *testing.T) {
	a, err := writeWheel(t.TempDir(), sampleSpec())
	if err != nil {
		t.Fatal(err)
	}
	b, err := writeWheel(t.TempDir(), sampleSpec())
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(a) != "demo_pkg-1.2.3-py3-none-any.whl" {
		t.Errorf("file name %s", filepath.Base(a))
	}
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if !bytes.Equal(da, db) {
		t.Fatal("two writes of the same spec differ")
	}
	if err := verifyWheel(a); err != nil {
		t.Fatal(err)
	}
}

func TestWriteWheelLayout(t *testing.T) {
	p, err := writeWheel(t.TempDir(), sampleSpec())
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(p)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	modes := map[string]os.FileMode{}
	for _, f := range zr.File {
		names = append(names, f.Name)
		modes[f.Name] = f.Mode().Perm()
	}
	want := []string{
		"aaa.pth",
		"demo_pkg/__init__.py",
		"demo_pkg/tool.sh",
		"demo_pkg/z,odd.py",
		"demo_pkg-1.2.3.dist-info/METADATA",
		"demo_pkg-1.2.3.dist-info/WHEEL",
		"demo_pkg-1.2.3.dist-info/entry_points.txt",
		"demo_pkg-1.2.3.dist-info/RECORD",
	}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("entries\n got %q\nwant %q", names, want)
	}
	if modes["demo_pkg/tool.sh"] != 0o755 || modes["demo_pkg/__init__.py"] != 0o644 {
		t.Errorf("modes %v", modes)
	}
	wheel := readZipFile(t, zr, "demo_pkg-1.2.3.dist-info/WHEEL")
	if wheel != "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n" {
		t.Errorf("WHEEL:\n%s", wheel)
	}
	record := readZipFile(t, zr, "demo_pkg-1.2.3.dist-info/RECORD")
	if !strings.Contains(record, "\"demo_pkg/z,odd.py\",sha256=") {
		t.Errorf("RECORD does not quote a name with a comma:\n%s", record)
	}
}

func TestWriteWheelPlatformNotPurelib(t *testing.T) {
	s := sampleSpec()
	s.tag = "cp311-cp311-manylinux_2_36_x86_64"
	p, err := writeWheel(t.TempDir(), s)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(p)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if w := readZipFile(t, zr, "demo_pkg-1.2.3.dist-info/WHEEL"); !strings.Contains(w, "Root-Is-Purelib: false\n") {
		t.Errorf("WHEEL:\n%s", w)
	}
}

func TestWriteWheelRejectsBadNames(t *testing.T) {
	for _, name := range []string{"../evil.py", "/abs.py", "a/../b.py", "a//b.py", "", "demo_pkg-1.2.3.dist-info/RECORD"} {
		s := sampleSpec()
		s.files[name] = wheelFile{data: []byte("x")}
		if _, err := writeWheel(t.TempDir(), s); err == nil {
			t.Errorf("%q: no error", name)
		}
	}
}

func readZipFile(t *testing.T, zr *zip.ReadCloser, name string) string {
	t.Helper()
	for _, f := range zr.File {
		if f.Name == name {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
	t.Fatalf("%s not in wheel", name)
	return ""
}

// verifyWheel checks what every wheel from this package must satisfy:
// fixed timestamps and modes, payload before .dist-info, RECORD last and
// matching every entry's hash and size, METADATA and WHEEL agreeing with
// the file name.
func verifyWheel(p string) error {
	base := filepath.Base(p)
	stem := strings.TrimSuffix(base, ".whl")
	parts := strings.Split(stem, "-")
	if len(parts) != 5 {
		return fmt.Errorf("%s: want name-version-py-abi-plat", base)
	}
	distInfo := parts[0] + "-" + parts[1] + ".dist-info/"
	zr, err := zip.OpenReader(p)
	if err != nil {
		return err
	}
	defer zr.Close()
	contents := map[string][]byte{}
	var prev string
	inDistInfo := false
	for i, f := range zr.File {
		if !f.Modified.Equal(zipEpoch) {
			return fmt.Errorf("%s: %s: mtime %v", base, f.Name, f.Modified)
		}
		if m := f.Mode(); m != 0o644 && m != 0o755 {
			return fmt.Errorf("%s: %s: mode %v", base, f.Name, m)
		}
		isDI := strings.HasPrefix(f.Name, distInfo)
		if inDistInfo && !isDI {
			return fmt.Errorf("%s: %s after the .dist-info entries", base, f.Name)
		}
		if isDI != inDistInfo {
			prev = ""
		}
		inDistInfo = isDI
		last := i == len(zr.File)-1
		if last != (f.Name == distInfo+"RECORD") {
			return fmt.Errorf("%s: RECORD must be the last entry (entry %d is %s)", base, i, f.Name)
		}
		if !last && f.Name <= prev {
			return fmt.Errorf("%s: %s not sorted after %s", base, f.Name, prev)
		}
		prev = f.Name
		rc, err := f.Open()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("%s: %s: %w", base, f.Name, err)
		}
		contents[f.Name] = data
	}
	rows, err := csv.NewReader(bytes.NewReader(contents[distInfo+"RECORD"])).ReadAll()
	if err != nil {
		return fmt.Errorf("%s: RECORD: %w", base, err)
	}
	listed := map[string]bool{}
	for _, row := range rows {
		if len(row) != 3 {
			return fmt.Errorf("%s: RECORD row %q", base, row)
		}
		listed[row[0]] = true
		if row[0] == distInfo+"RECORD" {
			if row[1] != "" || row[2] != "" {
				return fmt.Errorf("%s: RECORD lists its own hash", base)
			}
			continue
		}
		data, ok := contents[row[0]]
		if !ok {
			return fmt.Errorf("%s: RECORD lists missing %s", base, row[0])
		}
		sum := sha256.Sum256(data)
		if want := "sha256=" + base64.RawURLEncoding.EncodeToString(sum[:]); row[1] != want || row[2] != fmt.Sprint(len(data)) {
			return fmt.Errorf("%s: RECORD %s: %s,%s, want %s,%d", base, row[0], row[1], row[2], want, len(data))
		}
	}
	for name := range contents {
		if !listed[name] {
			return fmt.Errorf("%s: %s not in RECORD", base, name)
		}
	}
	meta, err := parsePKGInfo(contents[distInfo+"METADATA"])
	if err != nil {
		return fmt.Errorf("%s: METADATA: %w", base, err)
	}
	if pyname.Escape(meta.get("Name")) != parts[0] || meta.get("Version") != parts[1] {
		return fmt.Errorf("%s: METADATA says %s %s", base, meta.get("Name"), meta.get("Version"))
	}
	wheel, err := parsePKGInfo(append(bytes.Clone(contents[distInfo+"WHEEL"]), "Name: x\nMetadata-Version: x\nVersion: x\n"...))
	if err != nil {
		return fmt.Errorf("%s: WHEEL: %w", base, err)
	}
	tag := strings.Join(parts[2:], "-")
	if got := wheel.all("Tag"); len(got) != 1 || got[0] != tag {
		return fmt.Errorf("%s: WHEEL tags %q", base, got)
	}
	if pure := strings.HasSuffix(tag, "-none-any"); wheel.get("Root-Is-Purelib") != fmt.Sprint(pure) {
		return fmt.Errorf("%s: Root-Is-Purelib %q for tag %s", base, wheel.get("Root-Is-Purelib"), tag)
	}
	return nil
}
