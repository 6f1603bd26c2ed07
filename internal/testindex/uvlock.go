package testindex

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/kiln-build/kiln/internal/pep440"
	"github.com/kiln-build/kiln/internal/pyname"
	"github.com/pelletier/go-toml/v2"
)

// RootSpec is the project a uv.lock is written for: what uv reads from
// its pyproject.toml.
type RootSpec struct {
	Name           string
	Version        string
	RequiresPython string              // e.g. ">=3.11"
	Dependencies   []string            // [project].dependencies, PEP 508
	Groups         map[string][]string // [dependency-groups] (PEP 735)
	// Virtual marks a project that is not a package (no [build-system],
	// or tool.uv.package = false): uv records it as { virtual = "." }
	// instead of { editable = "." } and never installs it.
	Virtual bool
}

// ReadRootSpec reads projectDir/pyproject.toml. Dependency groups may only
// list requirement strings ({include-group = ...} is not supported).
func ReadRootSpec(projectDir string) (RootSpec, error) {
	path := filepath.Join(projectDir, "pyproject.toml")
	data, err := os.ReadFile(path)
	if err != nil {
		return RootSpec{}, err
	}
	var py struct {
		Project struct {
			Name           string   `toml:"name"`
			Version        string   `toml:"version"`
			RequiresPython string   `toml:"requires-python"`
			Dependencies   []string `toml:"dependencies"`
		} `toml:"project"`
		DependencyGroups map[string][]any `toml:"dependency-groups"`
		BuildSystem      map[string]any   `toml:"build-system"`
		Tool             struct {
			UV struct {
				Package *bool `toml:"package"`
			} `toml:"uv"`
		} `toml:"tool"`
	}
	if err := toml.Unmarshal(data, &py); err != nil {
		return RootSpec{}, fmt.Errorf("%s: %w", path, err)
	}
	root := RootSpec{
		Name:           py.Project.Name,
		Version:        py.Project.Version,
		RequiresPython: py.Project.RequiresPython,
		Dependencies:   py.Project.Dependencies,
		Virtual:        py.BuildSystem == nil,
	}
	if py.Tool.UV.Package != nil {
		root.Virtual = !*py.Tool.UV.Package
	}
	for group, items := range py.DependencyGroups {
		if root.Groups == nil {
			root.Groups = map[string][]string{}
		}
		for _, item := range items {
			s, ok := item.(string)
			if !ok {
				return RootSpec{}, fmt.Errorf("%s: dependency-groups.%s: only requirement strings are supported, not %v", path, group, item)
			}
			root.Groups[group] = append(root.Groups[group], s)
		}
	}
	if root.Name == "" || root.Version == "" || root.RequiresPython == "" {
		return RootSpec{}, fmt.Errorf("%s: [project] needs name, version and requires-python", path)
	}
	return root, nil
}

// lockPackage is one [[package]] of the lock.
type lockPackage struct {
	name    string // normalized
	version string
	wheels  []wheelFile
	deps    []lockEdge
}

type lockEdge struct {
	name   string // normalized
	marker string
}

// WriteUVLock writes projectDir/uv.lock for root, resolved against the
// wheels in wheelDir as served by the index at indexURL (Server.URL()):
// revision 3 of uv's format, laid out as uv writes it. Each package's
// dependencies are the Requires-Dist of its wheels, restricted to
// distributions present in wheelDir; requirements that only apply with an
// extra are dropped, other markers are kept verbatim (in uv's quoting)
// rather than simplified against requires-python. Only the packages
// reachable from root's dependencies and groups are locked; a requirement
// of root that wheelDir cannot satisfy is an error.
func WriteUVLock(projectDir, indexURL, wheelDir string, root RootSpec) error {
	indexURL = strings.TrimSuffix(indexURL, "/")
	filesBase, ok := strings.CutSuffix(indexURL, "/simple")
	if !ok {
		return fmt.Errorf("uv.lock: index URL %s does not end in /simple", indexURL)
	}
	wheels, err := scanWheels(wheelDir)
	if err != nil {
		return err
	}
	available := map[string]*lockPackage{}
	for _, w := range wheels {
		p := available[w.project]
		if p == nil {
			p = &lockPackage{name: w.project, version: w.version}
			available[w.project] = p
		}
		if p.version != w.version {
			return fmt.Errorf("uv.lock: %s has versions %s and %s in %s; one is needed", w.project, p.version, w.version, wheelDir)
		}
		p.wheels = append(p.wheels, w)
	}

	rootName := pyname.Normalize(root.Name)
	rootDeps, err := parseRoot("dependencies", root.Dependencies)
	if err != nil {
		return err
	}
	groups := map[string][]requirement{}
	var groupNames []string
	for g, reqs := range root.Groups {
		ng := pyname.Normalize(g)
		parsed, err := parseRoot("dependency group "+g, reqs)
		if err != nil {
			return err
		}
		groups[ng] = append(groups[ng], parsed...)
		groupNames = append(groupNames, ng)
	}
	sort.Strings(groupNames)

	// Walk from the root's requirements through Requires-Dist.
	locked := map[string]*lockPackage{}
	var queue []*lockPackage
	visit := func(from string, r requirement) (bool, error) {
		p := available[pyname.Normalize(r.name)]
		if p == nil {
			return false, nil
		}
		if len(r.extras) > 0 {
			return false, fmt.Errorf("uv.lock: %s requires %s with extras %v, which this writer does not lock", from, r.name, r.extras)
		}
		if err := checkVersion(r, p.version); err != nil {
			return false, fmt.Errorf("uv.lock: %s requires %s: %w", from, r.name, err)
		}
		if locked[p.name] == nil {
			locked[p.name] = p
			queue = append(queue, p)
		}
		return true, nil
	}
	var rootEdges []lockEdge
	for _, r := range rootDeps {
		ok, err := visit(rootName, r)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("uv.lock: %s depends on %s, which is not in %s", rootName, r.name, wheelDir)
		}
		rootEdges = append(rootEdges, lockEdge{name: pyname.Normalize(r.name), marker: uvMarkerOrEmpty(r.marker)})
	}
	groupEdges := map[string][]lockEdge{}
	for _, g := range groupNames {
		for _, r := range groups[g] {
			ok, err := visit(rootName, r)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("uv.lock: %s group %s needs %s, which is not in %s", rootName, g, r.name, wheelDir)
			}
			groupEdges[g] = append(groupEdges[g], lockEdge{name: pyname.Normalize(r.name), marker: uvMarkerOrEmpty(r.marker)})
		}
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		// Every wheel of a release carries the same METADATA; read the first.
		for _, rd := range p.wheels[0].requiresDist {
			r, err := parseRequirement(rd)
			if err != nil {
				return fmt.Errorf("uv.lock: %s: %w", p.wheels[0].filename, err)
			}
			if markerExtra.MatchString(r.marker) {
				continue
			}
			ok, err := visit(p.name, r)
			if err != nil {
				return err
			}
			if ok {
				p.deps = append(p.deps, lockEdge{name: pyname.Normalize(r.name), marker: uvMarkerOrEmpty(r.marker)})
			}
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "version = 1\nrevision = 3\nrequires-python = %s\n", tomlString(normalizeSpecifier(root.RequiresPython)))
	names := []string{rootName}
	for n := range locked {
		if n == rootName {
			return fmt.Errorf("uv.lock: the project %s is also a wheel in %s", rootName, wheelDir)
		}
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b.WriteString("\n[[package]]\n")
		if n == rootName {
			writeRoot(&b, root, rootName, rootEdges, rootDeps, groupNames, groupEdges, groups)
			continue
		}
		p := locked[n]
		fmt.Fprintf(&b, "name = %s\nversion = %s\nsource = { registry = %s }\n", tomlString(p.name), tomlString(p.version), tomlString(indexURL))
		writeEdges(&b, "dependencies", p.deps)
		b.WriteString("wheels = [\n")
		for _, w := range p.wheels {
			fmt.Fprintf(&b, "    { url = %s, hash = %s, size = %d, upload-time = %s },\n",
				tomlString(filesBase+"/files/"+url.PathEscape(w.filename)), tomlString("sha256:"+w.sha256), w.size,
				tomlString(UploadTime.Format("2006-01-02T15:04:05Z")))
		}
		b.WriteString("]\n")
	}
	return writeAtomic(filepath.Join(projectDir, "uv.lock"), []byte(b.String()))
}

func writeRoot(b *strings.Builder, root RootSpec, name string, edges []lockEdge, reqs []requirement,
	groupNames []string, groupEdges map[string][]lockEdge, groups map[string][]requirement) {
	source := "editable"
	if root.Virtual {
		source = "virtual"
	}
	fmt.Fprintf(b, "name = %s\nversion = %s\nsource = { %s = \".\" }\n", tomlString(name), tomlString(root.Version), source)
	writeEdges(b, "dependencies", edges)
	if len(groupNames) > 0 {
		b.WriteString("\n[package.dev-dependencies]\n")
		for _, g := range groupNames {
			writeEdges(b, g, groupEdges[g])
		}
	}
	if len(reqs) == 0 && len(groupNames) == 0 {
		return
	}
	b.WriteString("\n[package.metadata]\n")
	if len(reqs) > 0 {
		writeRequirements(b, "requires-dist", reqs)
	}
	if len(groupNames) > 0 {
		b.WriteString("\n[package.metadata.requires-dev]\n")
		for _, g := range groupNames {
			writeRequirements(b, g, groups[g])
		}
	}
}

// writeEdges writes a dependency list, one edge per line, sorted by name
// (uv's layout for dependencies and groups, even with one element).
func writeEdges(b *strings.Builder, key string, edges []lockEdge) {
	if len(edges) == 0 {
		return
	}
	edges = append([]lockEdge(nil), edges...)
	sort.SliceStable(edges, func(i, j int) bool {
		if edges[i].name != edges[j].name {
			return edges[i].name < edges[j].name
		}
		return edges[i].marker < edges[j].marker
	})
	fmt.Fprintf(b, "%s = [\n", key)
	var prev lockEdge
	for i, e := range edges {
		if i > 0 && e == prev {
			continue
		}
		prev = e
		fmt.Fprintf(b, "    { name = %s", tomlString(e.name))
		if e.marker != "" {
			fmt.Fprintf(b, ", marker = %s", tomlString(e.marker))
		}
		b.WriteString(" },\n")
	}
	b.WriteString("]\n")
}

// writeRequirements writes declared requirements as uv does in
// [package.metadata]: one element inline, several one per line.
func writeRequirements(b *strings.Builder, key string, reqs []requirement) {
	reqs = append([]requirement(nil), reqs...)
	sort.SliceStable(reqs, func(i, j int) bool { return pyname.Normalize(reqs[i].name) < pyname.Normalize(reqs[j].name) })
	items := make([]string, len(reqs))
	for i, r := range reqs {
		s := "{ name = " + tomlString(pyname.Normalize(r.name))
		if len(r.extras) > 0 {
			quoted := make([]string, len(r.extras))
			for k, e := range r.extras {
				quoted[k] = tomlString(e)
			}
			s += ", extras = [" + strings.Join(quoted, ", ") + "]"
		}
		if r.marker != "" {
			s += ", marker = " + tomlString(uvMarker(r.marker))
		}
		if r.specifier != "" {
			s += ", specifier = " + tomlString(r.specifier)
		}
		items[i] = s + " }"
	}
	if len(items) == 1 {
		fmt.Fprintf(b, "%s = [%s]\n", key, items[0])
		return
	}
	fmt.Fprintf(b, "%s = [\n", key)
	for _, it := range items {
		fmt.Fprintf(b, "    %s,\n", it)
	}
	b.WriteString("]\n")
}

func parseRoot(what string, reqs []string) ([]requirement, error) {
	out := make([]requirement, 0, len(reqs))
	for _, s := range reqs {
		r, err := parseRequirement(s)
		if err != nil {
			return nil, fmt.Errorf("uv.lock: project %s: %w", what, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func uvMarkerOrEmpty(m string) string {
	if m == "" {
		return ""
	}
	return uvMarker(m)
}

// checkVersion reports whether version satisfies r's specifier.
func checkVersion(r requirement, version string) error {
	if r.specifier == "" {
		return nil
	}
	v, err := pep440.ParseVersion(version)
	if err != nil {
		return fmt.Errorf("version %q: %w", version, err)
	}
	specs, err := pep440.ParseSpecifiers(r.specifier)
	if err != nil {
		return fmt.Errorf("specifier %q: %w", r.specifier, err)
	}
	if !specs.Contains(v) {
		return fmt.Errorf("%s %s does not satisfy %s", r.name, version, r.specifier)
	}
	return nil
}

// normalizeSpecifier writes a specifier set as uv does: clauses separated
// by ", " without inner spaces.
func normalizeSpecifier(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = strings.Join(strings.Fields(p), "")
	}
	return strings.Join(parts, ", ")
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\u` + strconv.FormatInt(int64(r)+0x10000, 16)[1:])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
