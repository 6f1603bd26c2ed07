package testindex

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/kiln-build/kiln/internal/pyname"
	"github.com/kiln-build/kiln/internal/wheel"
)

// wheelFile is one wheel of the served directory.
type wheelFile struct {
	filename       string
	path           string
	project        string // normalized name
	version        string
	sha256         string
	size           int64
	requiresPython string
	requiresDist   []string
}

var (
	validName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$`)
)

// scanWheels reads every *.whl in dir: hash, size and the METADATA fields
// the index and the lock need. Other files are ignored.
func scanWheels(dir string) ([]wheelFile, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.whl"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	wheels := make([]wheelFile, 0, len(paths))
	for _, p := range paths {
		w, err := readWheel(p)
		if err != nil {
			return nil, err
		}
		wheels = append(wheels, w)
	}
	return wheels, nil
}

func readWheel(p string) (wheelFile, error) {
	filename := filepath.Base(p)
	w := wheelFile{filename: filename, path: p}
	fn, err := wheel.ParseFilename(filename)
	if err != nil {
		return w, err
	}
	w.project, w.version = fn.NormalizedName(), fn.Version
	data, err := os.ReadFile(p)
	if err != nil {
		return w, err
	}
	sum := sha256.Sum256(data)
	w.sha256, w.size = hex.EncodeToString(sum[:]), int64(len(data))
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return w, fmt.Errorf("wheel %s: %w", filename, err)
	}
	var meta *zip.File
	for _, f := range zr.File {
		dir, rest, ok := strings.Cut(f.Name, "/")
		if ok && rest == "METADATA" && strings.HasSuffix(dir, ".dist-info") {
			if meta != nil {
				return w, fmt.Errorf("wheel %s: more than one .dist-info/METADATA", filename)
			}
			meta = f
		}
	}
	if meta == nil {
		return w, fmt.Errorf("wheel %s: no .dist-info/METADATA", filename)
	}
	rc, err := meta.Open()
	if err != nil {
		return w, fmt.Errorf("wheel %s: %s: %w", filename, meta.Name, err)
	}
	body, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	rc.Close()
	if err != nil {
		return w, fmt.Errorf("wheel %s: %s: %w", filename, meta.Name, err)
	}
	headers := wheel.ParseHeaders(body)
	name, _ := headers.First("name")
	version, _ := headers.First("version")
	if pyname.Normalize(name) != w.project || version != w.version {
		return w, fmt.Errorf("wheel %s: METADATA is for %s %s", filename, name, version)
	}
	w.requiresPython, _ = headers.First("requires-python")
	w.requiresDist = headers["requires-dist"]
	return w, nil
}

// requirement is a parsed PEP 508 requirement without a URL.
type requirement struct {
	name      string // as written
	extras    []string
	specifier string // normalized: clauses joined by ",", no spaces
	marker    string // as written, "" for none
}

var (
	reqHead  = regexp.MustCompile(`^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?\s*(.*)$`)
	specPart = regexp.MustCompile(`^(~=|===|==|!=|<=|>=|<|>)\s*([A-Za-z0-9*+!._-]+)$`)
)

// parseRequirement parses "name[extra,...] specifier ; marker". URL
// requirements ("name @ url") are refused: nothing here can serve them.
func parseRequirement(s string) (requirement, error) {
	spec, marker, _ := strings.Cut(s, ";")
	m := reqHead.FindStringSubmatch(spec)
	if m == nil {
		return requirement{}, fmt.Errorf("requirement %q: no distribution name", s)
	}
	r := requirement{name: m[1], marker: strings.TrimSpace(marker)}
	if strings.Contains(s, ";") && r.marker == "" {
		return requirement{}, fmt.Errorf("requirement %q: empty marker", s)
	}
	if m[2] != "" {
		for _, e := range strings.Split(m[2], ",") {
			e = strings.TrimSpace(e)
			if !validName.MatchString(e) {
				return requirement{}, fmt.Errorf("requirement %q: bad extra %q", s, e)
			}
			r.extras = append(r.extras, pyname.Normalize(e))
		}
		sort.Strings(r.extras)
	}
	rest := strings.TrimSpace(m[3])
	if strings.HasPrefix(rest, "@") {
		return requirement{}, fmt.Errorf("requirement %q: URL requirements are not supported", s)
	}
	if strings.HasPrefix(rest, "(") && strings.HasSuffix(rest, ")") {
		rest = strings.TrimSpace(rest[1 : len(rest)-1])
	}
	if rest != "" {
		var clauses []string
		for _, c := range strings.Split(rest, ",") {
			pm := specPart.FindStringSubmatch(strings.TrimSpace(c))
			if pm == nil {
				return requirement{}, fmt.Errorf("requirement %q: bad version specifier %q", s, strings.TrimSpace(c))
			}
			clauses = append(clauses, pm[1]+pm[2])
		}
		r.specifier = strings.Join(clauses, ",")
	}
	return r, nil
}

// markerExtra matches a marker that mentions the "extra" variable: such a
// requirement only applies when an extra is requested.
var markerExtra = regexp.MustCompile(`(^|[\s(])extra\s*(==|!=|in\b|not\s+in\b)|['"]\s*(==|!=|in|not\s+in)\s*extra\b`)

// uvMarker renders a marker the way uv writes it: string literals in
// single quotes (double quotes when the literal holds one), runs of
// whitespace outside literals collapsed to one space.
func uvMarker(m string) string {
	var b strings.Builder
	space := false
	for i := 0; i < len(m); i++ {
		c := m[i]
		switch {
		case c == '"' || c == '\'':
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			end := strings.IndexByte(m[i+1:], c)
			if end < 0 {
				// Not a valid marker; keep the rest as it is.
				b.WriteString(m[i:])
				return b.String()
			}
			lit := m[i+1 : i+1+end]
			q := "'"
			if strings.Contains(lit, "'") {
				q = `"`
			}
			b.WriteString(q + lit + q)
			i += end + 1
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			space = true
		default:
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteByte(c)
		}
	}
	return b.String()
}
