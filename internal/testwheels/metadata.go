package testwheels

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/kiln-build/kiln/internal/pyname"
)

// pkgInfo is a PKG-INFO (or METADATA) file split into its header lines and
// the free-form description body that follows the first blank line.
type pkgInfo struct {
	headers []string // "Key: value" lines, continuation lines kept attached
	body    []byte
}

func parsePKGInfo(data []byte) (*pkgInfo, error) {
	head, body, _ := bytes.Cut(data, []byte("\n\n"))
	p := &pkgInfo{body: body}
	for _, line := range strings.Split(strings.TrimRight(string(head), "\n"), "\n") {
		switch {
		case line == "":
			continue
		case line[0] == ' ' || line[0] == '\t':
			if len(p.headers) == 0 {
				return nil, fmt.Errorf("continuation line before any header: %q", line)
			}
			p.headers[len(p.headers)-1] += "\n" + line
		case strings.Contains(line, ":"):
			p.headers = append(p.headers, line)
		default:
			return nil, fmt.Errorf("malformed header line %q", line)
		}
	}
	for _, key := range []string{"Metadata-Version", "Name", "Version"} {
		if p.get(key) == "" {
			return nil, fmt.Errorf("missing %s", key)
		}
	}
	return p, nil
}

// get returns the value of the first header named key (case-insensitive).
func (p *pkgInfo) get(key string) string {
	vals := p.all(key)
	if len(vals) == 0 {
		return ""
	}
	return vals[0]
}

func (p *pkgInfo) all(key string) []string {
	var out []string
	for _, h := range p.headers {
		k, v, _ := strings.Cut(h, ":")
		if strings.EqualFold(strings.TrimSpace(k), key) {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}

// bytes renders the headers, then extra headers, then the body.
func (p *pkgInfo) bytes(extra []string) []byte {
	var b bytes.Buffer
	for _, h := range p.headers {
		b.WriteString(h)
		b.WriteByte('\n')
	}
	for _, h := range extra {
		b.WriteString(h)
		b.WriteByte('\n')
	}
	if len(p.body) > 0 {
		b.WriteByte('\n')
		b.Write(p.body)
	}
	return b.Bytes()
}

// requiresTxt converts an egg-info requires.txt into Requires-Dist values and
// the extras it names, as setuptools' own egg-info to dist-info conversion
// does. Sections are "[extra]", "[:marker]" or "[extra:marker]".
func requiresTxt(data []byte) (reqs, extras []string, err error) {
	var extra, marker string
	seenExtra := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "[") {
			if !strings.HasSuffix(line, "]") {
				return nil, nil, fmt.Errorf("requires.txt line %d: unterminated section %q", n, line)
			}
			extra, marker, _ = strings.Cut(line[1:len(line)-1], ":")
			extra, marker = strings.TrimSpace(extra), strings.TrimSpace(marker)
			if extra != "" && !extraName.MatchString(extra) {
				return nil, nil, fmt.Errorf("requires.txt line %d: bad extra name %q", n, extra)
			}
			if extra != "" && !seenExtra[extra] {
				seenExtra[extra] = true
				extras = append(extras, extra)
			}
			continue
		}
		req, own, _ := strings.Cut(line, ";")
		req = strings.TrimSpace(req)
		if !reqName.MatchString(req) {
			return nil, nil, fmt.Errorf("requires.txt line %d: bad requirement %q", n, line)
		}
		var clauses []string
		for _, m := range []string{strings.TrimSpace(own), marker} {
			if m != "" {
				clauses = append(clauses, m)
			}
		}
		if extra != "" {
			clauses = append(clauses, fmt.Sprintf("extra == %q", extra))
		}
		switch len(clauses) {
		case 0:
			reqs = append(reqs, req)
		case 1:
			reqs = append(reqs, req+"; "+clauses[0])
		default:
			for i, c := range clauses[:len(clauses)-1] {
				clauses[i] = "(" + c + ")"
			}
			reqs = append(reqs, req+"; "+strings.Join(clauses, " and "))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("requires.txt: %w", err)
	}
	return reqs, extras, nil
}

var (
	extraName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$`)
	// reqName matches the start of a PEP 508 requirement: a name, then
	// extras, a version specifier or nothing.
	reqName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?\s*(\[[^\]]*\])?\s*(\(?\s*(~=|==|!=|<=|>=|<|>|===)\s*[^\s;,)=<>~!][^;]*)?$`)
	// debRel matches one Debian relation: name, optional :arch qualifier,
	// optional (op version).
	debRel = regexp.MustCompile(`^([a-z0-9][a-z0-9+.-]+)(:[a-z0-9-]+)?\s*(\(\s*(<<|<=|=|>=|>>)\s*([^)\s]+)\s*\))?`)
	// plainRelease is the upstream part of a Debian version kiln can turn
	// into a PEP 440 release: digits and dots.
	plainRelease = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*`)
)

// debianRequires turns a Debian Depends field back into Requires-Dist.
// dh_python3 moves a package's unconditional install_requires into Depends
// and blanks them in requires.txt, so without this Flask's wheel would not
// say that it needs Werkzeug. Only relations whose first alternative is
// one of the Debian packages in dists (Debian name -> Python distribution)
// count; self is the distribution being converted, skipped.
func debianRequires(depends string, dists map[string]string, self string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, group := range strings.Split(depends, ",") {
		group = strings.TrimSpace(group)
		if group == "" {
			continue
		}
		first, _, _ := strings.Cut(group, "|")
		m := debRel.FindStringSubmatch(strings.TrimSpace(first))
		if m == nil {
			return nil, fmt.Errorf("cannot parse Depends relation %q", group)
		}
		dist, ok := dists[m[1]]
		if !ok || pyname.Normalize(dist) == pyname.Normalize(self) || seen[pyname.Normalize(dist)] {
			continue
		}
		seen[pyname.Normalize(dist)] = true
		req := dist
		if spec := pep440Spec(m[4], m[5]); spec != "" {
			req += spec
		}
		out = append(out, req)
	}
	sort.Slice(out, func(i, j int) bool { return pyname.Normalize(out[i]) < pyname.Normalize(out[j]) })
	return out, nil
}

// pep440Spec converts a Debian version relation to a PEP 440 specifier, or
// "" when the version has no plain upstream release (the requirement then
// stays unversioned, which is looser but never wrong).
func pep440Spec(op, version string) string {
	if op == "" {
		return ""
	}
	if _, rest, ok := strings.Cut(version, ":"); ok {
		version = rest
	}
	if i := strings.LastIndex(version, "-"); i >= 0 {
		version = version[:i]
	}
	rel := plainRelease.FindString(version)
	if rel == "" || rel != version {
		return ""
	}
	switch op {
	case ">=", "<=":
		return op + rel
	case ">>":
		return ">" + rel
	case "<<":
		return "<" + rel
	default: // "="
		return "==" + rel
	}
}

// upstreamVersion strips the epoch and Debian revision, and the repack
// suffixes Debian adds to upstream versions (+dfsg, +ds, ~...).
func upstreamVersion(debVersion string) string {
	v := debVersion
	if _, rest, ok := strings.Cut(v, ":"); ok {
		v = rest
	}
	if i := strings.LastIndex(v, "-"); i >= 0 {
		v = v[:i]
	}
	if i := strings.IndexAny(v, "+~"); i >= 0 {
		v = v[:i]
	}
	return v
}
