package testwheels

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kiln-build/kiln/internal/pyname"
)

// zipEpoch is the timestamp of every entry: the earliest a zip can record,
// so that the same inputs always give the same bytes.
var zipEpoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// wheelSpec is everything that goes into one wheel file.
type wheelSpec struct {
	name    string // distribution name as in METADATA, e.g. "MarkupSafe"
	version string
	tag     string // python-abi-platform, e.g. "py3-none-any"
	// files maps a path relative to the wheel root (site-packages) to its
	// content; the .dist-info directory is added by writeWheel.
	files map[string]wheelFile
	// metadata is the complete METADATA file.
	metadata []byte
	// entryPoints and topLevel are optional dist-info files.
	entryPoints []byte
	topLevel    []byte
	// generator is written to WHEEL to say where the contents came from.
	generator string
}

type wheelFile struct {
	data []byte
	exec bool
}

func (s *wheelSpec) filename() string {
	return fmt.Sprintf("%s-%s-%s.whl", pyname.Escape(s.name), s.version, s.tag)
}

func (s *wheelSpec) distInfo() string {
	return fmt.Sprintf("%s-%s.dist-info", pyname.Escape(s.name), s.version)
}

func (s *wheelSpec) purelib() bool {
	return strings.HasSuffix(s.tag, "-none-any")
}

// writeWheel writes the wheel into dir and returns its path. Entries are
// in a fixed order (package files sorted, then .dist-info sorted, RECORD
// last, as the wheel spec recommends), with fixed timestamps and modes, so
// the file's hash only depends on its contents.
func writeWheel(dir string, s *wheelSpec) (string, error) {
	files := make(map[string]wheelFile, len(s.files)+4)
	distInfo := s.distInfo()
	for name, f := range s.files {
		if err := checkEntryName(name); err != nil {
			return "", fmt.Errorf("wheel %s: %w", s.filename(), err)
		}
		if strings.HasPrefix(name, distInfo+"/") {
			return "", fmt.Errorf("wheel %s: payload file %s is inside %s", s.filename(), name, distInfo)
		}
		files[name] = f
	}
	files[distInfo+"/METADATA"] = wheelFile{data: s.metadata}
	files[distInfo+"/WHEEL"] = wheelFile{data: []byte(fmt.Sprintf(
		"Wheel-Version: 1.0\nGenerator: %s\nRoot-Is-Purelib: %t\nTag: %s\n",
		s.generator, s.purelib(), s.tag))}
	if len(s.entryPoints) > 0 {
		files[distInfo+"/entry_points.txt"] = wheelFile{data: s.entryPoints}
	}
	if len(s.topLevel) > 0 {
		files[distInfo+"/top_level.txt"] = wheelFile{data: s.topLevel}
	}

	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		ai, aj := strings.HasPrefix(names[i], distInfo+"/"), strings.HasPrefix(names[j], distInfo+"/")
		if ai != aj {
			return aj
		}
		return names[i] < names[j]
	})

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	var record strings.Builder
	for _, name := range names {
		f := files[name]
		if err := addEntry(zw, name, f); err != nil {
			return "", fmt.Errorf("wheel %s: %s: %w", s.filename(), name, err)
		}
		sum := sha256.Sum256(f.data)
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", csvField(name),
			base64.RawURLEncoding.EncodeToString(sum[:]), len(f.data))
	}
	recordName := distInfo + "/RECORD"
	fmt.Fprintf(&record, "%s,,\n", recordName)
	if err := addEntry(zw, recordName, wheelFile{data: []byte(record.String())}); err != nil {
		return "", fmt.Errorf("wheel %s: RECORD: %w", s.filename(), err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("wheel %s: %w", s.filename(), err)
	}
	out := filepath.Join(dir, s.filename())
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return "", err
	}
	return out, nil
}

func addEntry(zw *zip.Writer, name string, f wheelFile) error {
	mode := fs.FileMode(0o644)
	if f.exec {
		mode = 0o755
	}
	h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: zipEpoch}
	h.SetMode(mode)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	_, err = w.Write(f.data)
	return err
}

// checkEntryName refuses names a wheel must not contain.
func checkEntryName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || path.Clean(name) != name || name == ".." || strings.HasPrefix(name, "../") {
		return fmt.Errorf("bad entry name %q", name)
	}
	return nil
}

// csvField quotes a RECORD path the way Python's csv module would.
func csvField(s string) string {
	if !strings.ContainsAny(s, ",\"\r\n") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
