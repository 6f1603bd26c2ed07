package testwheels

import (
	"bytes"
	"context"
	"debug/elf"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kiln-build/kiln/internal/pep440"
	"github.com/kiln-build/kiln/internal/pyname"
	"github.com/kiln-build/kiln/internal/testcache"
)

// debianDist is one Python distribution repackaged from Debian bookworm.
type debianDist struct {
	dist string   // distribution name as in Debian's egg-info
	debs []string // binary packages whose dist-packages go into the wheel; the first holds the metadata
	// native distributions ship compiled modules and get one wheel per
	// architecture; the others are built once from the "all" package.
	native bool
}

// debianDists is what a Flask app under gunicorn imports at runtime.
// gunicorn 20.1 imports pkg_resources (gunicorn/util.py), which Debian
// splits out of setuptools into python3-pkg-resources; upstream ships it in
// the setuptools wheel, so the two packages become one setuptools wheel.
var debianDists = []debianDist{
	{dist: "click", debs: []string{"python3-click"}},
	{dist: "Flask", debs: []string{"python3-flask"}},
	{dist: "gunicorn", debs: []string{"python3-gunicorn"}},
	{dist: "itsdangerous", debs: []string{"python3-itsdangerous"}},
	{dist: "Jinja2", debs: []string{"python3-jinja2"}},
	{dist: "MarkupSafe", debs: []string{"python3-markupsafe"}, native: true},
	{dist: "setuptools", debs: []string{"python3-setuptools", "python3-pkg-resources"}},
	{dist: "Werkzeug", debs: []string{"python3-werkzeug"}},
}

// platform is a target of the platform-specific wheels.
type platform struct {
	debArch string      // Debian architecture
	machine string      // uname -m, as in wheel tags and EXT_SUFFIX
	gcc     string      // compiler for the demo extension
	elf     elf.Machine // what the compiled modules must be
}

var platforms = []platform{
	{debArch: "amd64", machine: "x86_64", gcc: "gcc", elf: elf.EM_X86_64},
	{debArch: "arm64", machine: "aarch64", gcc: "aarch64-linux-gnu-gcc", elf: elf.EM_AARCH64},
}

// glibc of Debian bookworm, the floor of the platform wheels' tags.
const manylinux = "manylinux_2_36"

func (p platform) tag() string { return "cp311-cp311-" + manylinux + "_" + p.machine }

// extSuffix is CPython 3.11's EXT_SUFFIX on Debian for the platform.
func (p platform) extSuffix() string { return ".cpython-311-" + p.machine + "-linux-gnu.so" }

const distPackages = "usr/lib/python3/dist-packages/"

// pythonDev is where python3.11-dev puts Python.h. The arm64 build uses the
// same headers with the arm64 pyconfig.h from libpython3.11-dev:arm64
// (Debian's pyconfig.h only dispatches to a per-architecture file).
const pythonDev = "/usr/include/python3.11"

//go:embed all:testdata/kiln_demo_ext all:testdata/kiln_dev_tool
var fixtures embed.FS

// unavailableError means a prerequisite (a tool, a header, the Debian
// archive) is missing, as opposed to a bug in the recipe.
type unavailableError struct{ msg string }

func (e *unavailableError) Error() string { return e.msg }

func unavailable(format string, args ...any) error {
	return &unavailableError{msg: fmt.Sprintf(format, args...)}
}

// Build writes the wheelhouse into dir (created if needed): the Debian
// wheels for both architectures, kiln-demo-ext for both, kiln-dev-tool, and
// sources.txt naming every .deb used with its SHA256. It needs apt-get,
// dpkg-deb, gcc, aarch64-linux-gnu-gcc, python3.11-dev and the Debian
// archive; apt's lists are kept under the test cache (see Wheelhouse).
func Build(dir string) error {
	ctx := context.Background()
	for _, tool := range []string{"apt-get", "dpkg-deb", "gcc", "aarch64-linux-gnu-gcc"} {
		if _, err := exec.LookPath(tool); err != nil {
			return unavailable("testwheels: %s not found (apt-get install dpkg-dev gcc gcc-aarch64-linux-gnu python3.11-dev)", tool)
		}
	}
	if _, err := os.Stat(filepath.Join(pythonDev, "Python.h")); err != nil {
		return unavailable("testwheels: %s/Python.h missing (apt-get install python3.11-dev)", pythonDev)
	}
	root := testcache.Dir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "kiln-testwheels-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	var want []string
	for _, d := range debianDists {
		for _, pkg := range d.debs {
			if !d.native {
				want = append(want, pkg)
				continue
			}
			for _, p := range platforms {
				want = append(want, pkg+":"+p.debArch)
			}
		}
	}
	for _, p := range platforms {
		if p.debArch != "amd64" {
			want = append(want, "libpython3.11-dev:"+p.debArch)
		}
	}
	a := &apt{state: filepath.Join(root, "testwheels-apt")}
	if err := a.fetch(ctx, work, want); err != nil {
		return err
	}
	debs, err := readDebs(ctx, work)
	if err != nil {
		return err
	}

	for _, d := range debianDists {
		if !d.native {
			if err := debianWheel(ctx, dir, d, debs, "all", nil); err != nil {
				return err
			}
			continue
		}
		for _, p := range platforms {
			if err := debianWheel(ctx, dir, d, debs, p.debArch, &p); err != nil {
				return err
			}
		}
	}
	for _, p := range platforms {
		if err := demoExtWheel(ctx, dir, work, p, debs); err != nil {
			return err
		}
	}
	if err := devToolWheel(dir); err != nil {
		return err
	}
	return writeSources(dir, debs)
}

// debKey finds a downloaded package by name and architecture.
type debKey struct{ pkg, arch string }

func readDebs(ctx context.Context, dir string) (map[debKey]*deb, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.deb"))
	if err != nil {
		return nil, err
	}
	debs := map[debKey]*deb{}
	for _, p := range paths {
		d, err := readDeb(ctx, p)
		if err != nil {
			return nil, err
		}
		debs[debKey{d.pkg, d.arch}] = d
	}
	return debs, nil
}

func findDeb(debs map[debKey]*deb, pkg, arch string) (*deb, error) {
	if d, ok := debs[debKey{pkg, arch}]; ok {
		return d, nil
	}
	if d, ok := debs[debKey{pkg, "all"}]; ok {
		return d, nil
	}
	return nil, fmt.Errorf("deb %s (%s) was not downloaded", pkg, arch)
}

// debianWheel repackages one distribution. For a native distribution p is
// the target platform and arch its Debian architecture.
func debianWheel(ctx context.Context, dir string, d debianDist, debs map[debKey]*deb, arch string, p *platform) error {
	// Debian package name -> distribution, to map Depends back.
	byDeb := map[string]string{}
	for _, dd := range debianDists {
		for _, pkg := range dd.debs {
			byDeb[pkg] = dd.dist
		}
	}
	spec := &wheelSpec{files: map[string]wheelFile{}, tag: "py3-none-any"}
	var meta *deb
	var metaFiles map[string]debFile
	for i, pkg := range d.debs {
		db, err := findDeb(debs, pkg, arch)
		if err != nil {
			return fmt.Errorf("wheel %s: %w", d.dist, err)
		}
		files, links, err := db.files(ctx, distPackages)
		if err != nil {
			return err
		}
		for name, target := range links {
			// A Debian symlink into /usr/share (werkzeug's debugger points
			// jquery.js at libjs-jquery, which Werkzeug 2.2 no longer uses)
			// cannot be carried by a wheel; one inside the package could, but
			// none exists, so refuse it rather than guess.
			if resolved := path.Join(path.Dir(name), target); strings.HasPrefix(resolved, "../") || path.IsAbs(target) {
				continue
			}
			return fmt.Errorf("deb %s: symlink %s -> %s inside dist-packages", db.pkg, name, target)
		}
		if i == 0 {
			meta, metaFiles = db, files
		}
		for name, f := range files {
			if strings.Contains(name, "__pycache__/") || isMetadataDir(name) {
				continue
			}
			if _, dup := spec.files[name]; dup {
				return fmt.Errorf("wheel %s: %s is in more than one of %v", d.dist, name, d.debs)
			}
			spec.files[name] = wheelFile(f)
		}
	}
	if err := convertMetadata(spec, d.dist, meta, metaFiles, byDeb); err != nil {
		return fmt.Errorf("wheel %s from %s %s: %w", d.dist, meta.pkg, meta.version, err)
	}
	spec.generator = fmt.Sprintf("kiln-testwheels (Debian %s %s %s)", meta.pkg, meta.version, meta.arch)
	if p != nil {
		spec.tag = p.tag()
		if err := checkNative(spec, *p); err != nil {
			return err
		}
	} else if err := checkPure(spec); err != nil {
		return err
	}
	_, err := writeWheel(dir, spec)
	return err
}

func isMetadataDir(name string) bool {
	top, _, _ := strings.Cut(name, "/")
	return strings.HasSuffix(top, ".egg-info") || strings.HasSuffix(top, ".dist-info")
}

// convertMetadata fills in the wheel's name, version and dist-info files
// from Debian's .egg-info (PKG-INFO, requires.txt, entry_points.txt,
// top_level.txt) or .dist-info (METADATA, entry_points.txt, top_level.txt),
// restoring the Requires-Dist that dh_python3 moved into Depends.
func convertMetadata(spec *wheelSpec, dist string, d *deb, files map[string]debFile, byDeb map[string]string) error {
	infoDir, metaName := "", ""
	for name := range files {
		top, rest, _ := strings.Cut(name, "/")
		if !isMetadataDir(top) {
			continue
		}
		if rest == "PKG-INFO" || rest == "METADATA" {
			p, err := parsePKGInfo(files[name].data)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if pyname.Normalize(p.get("Name")) == pyname.Normalize(dist) {
				if infoDir != "" {
					return fmt.Errorf("two metadata directories for %s: %s and %s", dist, infoDir, top)
				}
				infoDir, metaName = top, name
			}
		}
	}
	if infoDir == "" {
		return fmt.Errorf("no .egg-info or .dist-info for %s", dist)
	}
	info, err := parsePKGInfo(files[metaName].data)
	if err != nil {
		return err
	}
	spec.name, spec.version = info.get("Name"), info.get("Version")
	v, err := pep440.ParseVersion(spec.version)
	if err != nil {
		return fmt.Errorf("version %q is not PEP 440: %w", spec.version, err)
	}
	if v.String() != spec.version {
		return fmt.Errorf("version %q is not in PEP 440 normal form (%s)", spec.version, v.String())
	}
	if up := upstreamVersion(d.version); up != spec.version {
		return fmt.Errorf("metadata version %s differs from Debian upstream version %s", spec.version, up)
	}

	var extra []string
	existing := map[string]bool{}
	for _, r := range info.all("Requires-Dist") {
		existing[pyname.Normalize(requirementName(r))] = true
	}
	fromDeb, err := debianRequires(d.depends, byDeb, dist)
	if err != nil {
		return err
	}
	for _, r := range fromDeb {
		if !existing[pyname.Normalize(requirementName(r))] {
			extra = append(extra, "Requires-Dist: "+r)
		}
	}
	if rt, ok := files[infoDir+"/requires.txt"]; ok && len(existing) == 0 {
		reqs, extras, err := requiresTxt(rt.data)
		if err != nil {
			return err
		}
		declared := map[string]bool{}
		for _, e := range info.all("Provides-Extra") {
			declared[e] = true
		}
		for _, e := range extras {
			if !declared[e] {
				extra = append(extra, "Provides-Extra: "+e)
			}
		}
		for _, r := range reqs {
			extra = append(extra, "Requires-Dist: "+r)
		}
	}
	spec.metadata = info.bytes(extra)
	if ep, ok := files[infoDir+"/entry_points.txt"]; ok {
		spec.entryPoints = ep.data
	}
	if tl, ok := files[infoDir+"/top_level.txt"]; ok {
		spec.topLevel = tl.data
	}
	return nil
}

// requirementName is the distribution name at the start of a requirement.
func requirementName(req string) string {
	end := strings.IndexFunc(req, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
	})
	if end < 0 {
		return req
	}
	return req[:end]
}

// checkNative makes sure a platform wheel holds compiled modules for its
// platform and no other.
func checkNative(spec *wheelSpec, p platform) error {
	found := false
	for name, f := range spec.files {
		if !strings.HasSuffix(name, ".so") {
			continue
		}
		if !strings.HasSuffix(name, p.extSuffix()) {
			return fmt.Errorf("wheel %s: %s is not named for %s", spec.filename(), name, p.machine)
		}
		m, err := elfMachine(f.data)
		if err != nil {
			return fmt.Errorf("wheel %s: %s: %w", spec.filename(), name, err)
		}
		if m != p.elf {
			return fmt.Errorf("wheel %s: %s is %s, want %s", spec.filename(), name, m, p.elf)
		}
		found = true
	}
	if !found {
		return fmt.Errorf("wheel %s: no compiled module", spec.filename())
	}
	return nil
}

func checkPure(spec *wheelSpec) error {
	for name := range spec.files {
		if strings.HasSuffix(name, ".so") {
			return fmt.Errorf("wheel %s: compiled module %s in a py3-none-any wheel", spec.filename(), name)
		}
	}
	return nil
}

func elfMachine(data []byte) (elf.Machine, error) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return f.Machine, nil
}

// demoExtWheel compiles testdata/kiln_demo_ext for p and packs it.
func demoExtWheel(ctx context.Context, dir, work string, p platform, debs map[debKey]*deb) error {
	build := filepath.Join(work, "demo-ext-"+p.machine)
	if err := os.MkdirAll(build, 0o755); err != nil {
		return err
	}
	src, err := fixtures.ReadFile("testdata/kiln_demo_ext/native.c")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(build, "native.c"), src, 0o644); err != nil {
		return err
	}
	args := []string{"-shared", "-fPIC", "-O2", "-s", "-Wall", "-Werror"}
	if p.debArch != "amd64" {
		// Only pyconfig.h differs per architecture; take it from Debian.
		dev, err := findDeb(debs, "libpython3.11-dev", p.debArch)
		if err != nil {
			return err
		}
		rel := p.machine + "-linux-gnu/python3.11/pyconfig.h"
		files, _, err := dev.files(ctx, "usr/include/")
		if err != nil {
			return err
		}
		cfg, ok := files[rel]
		if !ok {
			return fmt.Errorf("deb %s: no usr/include/%s", dev.pkg, rel)
		}
		inc := filepath.Join(build, "include")
		if err := os.MkdirAll(filepath.Join(inc, filepath.Dir(rel)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(inc, rel), cfg.data, 0o644); err != nil {
			return err
		}
		args = append(args, "-Iinclude")
	}
	out := "_native" + p.extSuffix()
	args = append(args, "-I"+pythonDev, "-o", out, "native.c")
	cmd := exec.CommandContext(ctx, p.gcc, args...)
	cmd.Dir = build
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("wheel kiln-demo-ext %s: %s %s: %v\n%s", p.machine, p.gcc, strings.Join(args, " "), err, msg)
	}
	so, err := os.ReadFile(filepath.Join(build, out))
	if err != nil {
		return err
	}
	spec := &wheelSpec{
		name:      "kiln-demo-ext",
		version:   "1.0.0",
		tag:       p.tag(),
		generator: "kiln-testwheels (" + p.gcc + ")",
		files:     map[string]wheelFile{"kiln_demo_ext/" + out: {data: so, exec: true}},
		metadata: []byte("Metadata-Version: 2.1\nName: kiln-demo-ext\nVersion: 1.0.0\n" +
			"Summary: kiln test fixture: a compiled CPython extension (64-bit FNV-1a)\nRequires-Python: >=3.11\n"),
		entryPoints: []byte("[console_scripts]\nkiln-demo-ext = kiln_demo_ext.cli:main\n"),
		topLevel:    []byte("kiln_demo_ext\n"),
	}
	if err := addFixtureFiles(spec, "testdata/kiln_demo_ext", ".py"); err != nil {
		return err
	}
	if err := checkNative(spec, p); err != nil {
		return err
	}
	_, err = writeWheel(dir, spec)
	return err
}

// devToolWheel packs the pure kiln-dev-tool, a dev-group-only dependency.
func devToolWheel(dir string) error {
	spec := &wheelSpec{
		name:      "kiln-dev-tool",
		version:   "1.0.0",
		tag:       "py3-none-any",
		generator: "kiln-testwheels",
		files:     map[string]wheelFile{},
		metadata: []byte("Metadata-Version: 2.1\nName: kiln-dev-tool\nVersion: 1.0.0\n" +
			"Summary: kiln test fixture: a development-only tool\nRequires-Python: >=3.8\n"),
		entryPoints: []byte("[console_scripts]\nkiln-dev-tool = kiln_dev_tool:main\n"),
		topLevel:    []byte("kiln_dev_tool\n"),
	}
	if err := addFixtureFiles(spec, "testdata/kiln_dev_tool", ".py"); err != nil {
		return err
	}
	_, err := writeWheel(dir, spec)
	return err
}

// addFixtureFiles adds the files with suffix under root (an embedded
// directory) to the wheel, at their path relative to root.
func addFixtureFiles(spec *wheelSpec, root, suffix string) error {
	return fs.WalkDir(fixtures, root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if e.Name() == "__pycache__" {
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, suffix) {
			return nil
		}
		data, err := fixtures.ReadFile(p)
		if err != nil {
			return err
		}
		spec.files[strings.TrimPrefix(p, root+"/")] = wheelFile{data: data}
		return nil
	})
}

// writeSources records which Debian packages the wheels came from, so two
// wheelhouses can be compared and a test can say why hashes moved.
func writeSources(dir string, debs map[debKey]*deb) error {
	lines := make([]string, 0, len(debs))
	for _, d := range debs {
		lines = append(lines, fmt.Sprintf("%s %s %s sha256:%s", d.pkg, d.version, d.arch, d.sha256))
	}
	sort.Strings(lines)
	body := fmt.Sprintf("# kiln testwheels recipe %s; Debian bookworm packages used:\n%s\n", recipeVersion, strings.Join(lines, "\n"))
	return os.WriteFile(filepath.Join(dir, SourcesFile), []byte(body), 0o644)
}

// isUnavailable reports whether err means a prerequisite is missing.
func isUnavailable(err error) bool {
	var u *unavailableError
	return errors.As(err, &u)
}
