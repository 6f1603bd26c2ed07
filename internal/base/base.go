// Package base finds out what a Python base image provides — the interpreter,
// its version and standard library, the C library it runs on — by reading the
// image's files, never by running it, so that it works for any platform on any
// host.
package base

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Libc is the C library an interpreter is linked against.
type Libc struct {
	Kind    string // "glibc" or "musl"
	Version string // "2.36", "1.2.4"
}

// Info is what a base image provides to the Python applications built on it.
type Info struct {
	Arch          string // ELF machine of the interpreter as a GOARCH name: "amd64", "arm64", …
	Interpreter   string // absolute path of the real interpreter binary, symlinks resolved
	PythonVersion string // "3.11.2"
	PythonMinor   string // "3.11"
	StdlibDir     string // "/usr/lib/python3.11"
	Libc          Libc
	Passwd, Group []byte            // /etc/passwd and /etc/group, nil if absent
	OSRelease     map[string]string // /etc/os-release, nil if absent
	// DpkgStatus is /var/lib/dpkg/status, nil if absent: what Debian
	// packages the base has, so that they are not installed again.
	DpkgStatus []byte
}

// binDirs are searched in order for python3.X; /usr/local first because
// images that build their own Python (the official ones) install it there and
// may also carry a distribution python3 in /usr/bin.
var binDirs = []string{"/usr/local/bin", "/usr/bin"}

var (
	interpName = regexp.MustCompile(`^python3\.([0-9]+)$`)
	// Base names worth keeping on the first pass: Inspect reads these, or
	// symlinks to them, in nearly every image, and they are few.
	keepName = regexp.MustCompile(`^(python3(\.[0-9]+)?|libpython3\.[0-9]+.*\.so.*|libc\.so\.6|libc-2\.[0-9]+\.so|ld-musl-.*|libc\.musl-.*)$`)
	keepPath = map[string]bool{
		"/etc/passwd": true, "/etc/group": true,
		"/etc/os-release": true, "/usr/lib/os-release": true,
		dpkgStatus: true, apkInstalled: true,
	}
)

const (
	dpkgStatus   = "/var/lib/dpkg/status"
	dpkgStatusD  = "/var/lib/dpkg/status.d" // distroless: one file per package
	apkInstalled = "/lib/apk/db/installed"
)

func keep(p string) bool {
	return keepPath[p] || keepName.MatchString(path.Base(p)) ||
		path.Dir(p) == dpkgStatusD && !strings.HasSuffix(p, ".md5sums")
}

// Inspect reads the flattened filesystem of img in one streaming pass (a
// second only for unusual layouts), keeping just the files it needs, and
// reports its interpreter and libc. Errors name the image digest.
func Inspect(img v1.Image) (*Info, error) {
	dig, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("image digest: %w", err)
	}
	info, err := inspect(img)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", dig, err)
	}
	return info, nil
}

func inspect(img v1.Image) (*Info, error) {
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	r, err := readRootfs(img, keep)
	if err != nil {
		return nil, err
	}
	interp, minor, elfi, err := findInterpreter(r)
	if err != nil {
		return nil, err
	}
	info := &Info{Arch: elfi.arch, Interpreter: interp, PythonMinor: minor}
	db, err := readPkgDB(r)
	if err != nil {
		return nil, err
	}
	if info.PythonVersion, err = pythonVersion(r, cfg.Config.Env, db, minor, debArch(elfi.arch), interp); err != nil {
		return nil, err
	}
	if info.StdlibDir, err = stdlibDir(r, interp, minor); err != nil {
		return nil, err
	}
	if info.Libc, err = libc(r, db, elfi, interp); err != nil {
		return nil, err
	}
	if info.Passwd, err = r.readOptional("/etc/passwd"); err != nil {
		return nil, err
	}
	if info.Group, err = r.readOptional("/etc/group"); err != nil {
		return nil, err
	}
	if info.DpkgStatus, err = r.readOptional(dpkgStatus); err != nil {
		return nil, err
	}
	osr, err := r.readOptional("/etc/os-release")
	if err != nil {
		return nil, err
	}
	if osr == nil {
		// os-release(5): /usr/lib/os-release is the fallback when /etc has none.
		if osr, err = r.readOptional("/usr/lib/os-release"); err != nil {
			return nil, err
		}
	}
	if osr != nil {
		info.OSRelease = parseOSRelease(osr)
	}
	return info, nil
}

type candidate struct {
	path, real string // as found in a bin dir, and resolved
	minor      int
	elf        *elfInfo
}

// findInterpreter picks the interpreter: the python3.X executables of the
// first bin dir that has any; among several, the one python3 in that dir
// points at, else the highest minor.
func findInterpreter(r *rootfs) (real, minor string, _ *elfInfo, _ error) {
	var seen []string
	for _, dir := range binDirs {
		rdir, err := r.resolve(dir)
		if err != nil {
			continue
		}
		var cands []candidate
		for _, p := range r.children(rdir) {
			m := interpName.FindStringSubmatch(path.Base(p))
			if m == nil {
				continue
			}
			c, why := checkCandidate(r, p)
			if why != "" {
				seen = append(seen, path.Join(dir, path.Base(p))+" ("+why+")")
				continue
			}
			c.path = path.Join(dir, path.Base(p))
			c.minor, _ = strconv.Atoi(m[1])
			cands = append(cands, c)
		}
		if len(cands) == 0 {
			continue
		}
		best := cands[0]
		for _, c := range cands[1:] {
			if c.minor > best.minor {
				best = c
			}
		}
		if target, err := r.resolve(path.Join(rdir, "python3")); err == nil {
			for _, c := range cands {
				if c.real == target {
					best = c
				}
			}
		}
		return best.real, "3." + strconv.Itoa(best.minor), best.elf, nil
	}
	return "", "", nil, noInterpreter(r, seen)
}

// checkCandidate says why p is not an interpreter, or returns it resolved.
func checkCandidate(r *rootfs, p string) (candidate, string) {
	real, n, err := r.file(p)
	if err != nil {
		return candidate{}, err.Error()
	}
	if n.mode&0o111 == 0 {
		return candidate{}, "not executable"
	}
	data, err := r.read(real)
	if err != nil {
		return candidate{}, err.Error()
	}
	e, err := parseELF(data)
	if err != nil {
		return candidate{}, err.Error()
	}
	if e.typ != elf.ET_EXEC && e.typ != elf.ET_DYN {
		return candidate{}, "ELF " + e.typ.String() + ", not an executable"
	}
	return candidate{real: real, elf: e}, ""
}

func noInterpreter(r *rootfs, rejected []string) error {
	var found []string
	for _, p := range r.match(func(b string) bool {
		return strings.HasPrefix(b, "python") || strings.HasPrefix(b, "libpython")
	}) {
		switch n := r.nodes[p]; n.kind {
		case kindDir:
		case kindSymlink:
			found = append(found, p+" -> "+n.link)
		default:
			found = append(found, p)
		}
	}
	const max = 20
	if len(found) > max {
		found = append(found[:max], fmt.Sprintf("… %d more", len(found)-max))
	}
	msg := fmt.Sprintf("no Python interpreter: searched %s for python3.N ELF executables",
		strings.Join(binDirs, " and "))
	if len(rejected) > 0 {
		msg += "; rejected: " + strings.Join(rejected, ", ")
	}
	if len(found) == 0 {
		return errors.New(msg + "; the image has no python-like files")
	}
	return errors.New(msg + "; python-like files in the image: " + strings.Join(found, ", "))
}

// pkgDB is the image's package database: dpkg's, or Alpine's apk.
type pkgDB struct {
	pkgs []pkg
}

func readPkgDB(r *rootfs) (*pkgDB, error) {
	db := &pkgDB{}
	add := func(p string, parse func([]byte) ([]pkg, error)) error {
		data, err := r.readOptional(p)
		if err != nil || data == nil {
			return err
		}
		pkgs, err := parse(data)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		db.pkgs = append(db.pkgs, pkgs...)
		return nil
	}
	if err := add(dpkgStatus, parseDpkgStatus); err != nil {
		return nil, err
	}
	if d, err := r.resolve(dpkgStatusD); err == nil {
		for _, p := range r.children(d) {
			if !strings.HasSuffix(p, ".md5sums") {
				if err := add(p, parseDpkgStatus); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := add(apkInstalled, parseApkInstalled); err != nil {
		return nil, err
	}
	return db, nil
}

// pythonVersion finds the full version of python3.<minor>, from the most to
// the least explicit source: the PYTHON_VERSION that official images set, the
// package database, then the PY_VERSION literal compiled into the binary or
// libpython.
func pythonVersion(r *rootfs, env []string, db *pkgDB, minor, arch, interp string) (string, error) {
	full := regexp.MustCompile(`^` + regexp.QuoteMeta(minor) + `\.[0-9]+((a|b|rc)[0-9]+)?$`)
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PYTHON_VERSION="); ok && full.MatchString(v) {
			return v, nil
		}
	}
	debVer := regexp.MustCompile(`^` + regexp.QuoteMeta(minor) + `\.[0-9]+`)
	for _, name := range []string{"python" + minor + "-minimal", "libpython" + minor + "-minimal"} {
		if v := debVer.FindString(upstreamVersion(findPkg(db.pkgs, name, arch))); v != "" {
			return v, nil
		}
	}
	lit := regexp.MustCompile(`\x00(` + regexp.QuoteMeta(minor) + `\.[0-9]+(?:(?:a|b|rc)[0-9]+)?)\+?\x00`)
	files := []string{interp}
	seen := map[string]bool{interp: true}
	for _, p := range r.match(func(b string) bool { return strings.HasPrefix(b, "libpython"+minor+".so") }) {
		if real, _, err := r.file(p); err == nil && !seen[real] {
			seen[real] = true
			files = append(files, real)
		}
	}
	var searched []string
	for _, f := range files {
		data, err := r.read(f)
		if err != nil {
			return "", err
		}
		found := map[string]bool{}
		for _, m := range lit.FindAllSubmatch(data, -1) {
			found[string(m[1])] = true
		}
		switch len(found) {
		case 0:
			searched = append(searched, f)
			continue
		case 1:
			for v := range found {
				return v, nil
			}
		}
		return "", fmt.Errorf("%s: ambiguous Python version, found %s", f, strings.Join(sortedKeys(found), ", "))
	}
	return "", fmt.Errorf("python%s: full version not found: no PYTHON_VERSION in the config, no python%s-minimal in the package database, no version literal in %s",
		minor, minor, strings.Join(searched, ", "))
}

// stdlibDir returns <prefix>/lib/python3.X for the interpreter's prefix, or a
// distribution's usual places, whichever holds os.py.
func stdlibDir(r *rootfs, interp, minor string) (string, error) {
	prefix := path.Dir(path.Dir(interp))
	dirs := []string{path.Join(prefix, "lib", "python"+minor), "/usr/lib/python" + minor, "/usr/local/lib/python" + minor}
	for _, d := range dirs {
		if _, _, err := r.file(path.Join(d, "os.py")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("python%s: no standard library: os.py not found in %s", minor, strings.Join(dirs, ", "))
}

var (
	glibcVersion = regexp.MustCompile(`(?:GNU C Library[^\n\x00]*? version|release version) (2\.[0-9]+)`)
	glibcMinor   = regexp.MustCompile(`^2\.[0-9]+`)
	muslVersion  = regexp.MustCompile(`\x00(1\.[0-9]+\.[0-9]+)\x00`)
)

// libc names the C library from the interpreter's program interpreter (the
// dynamic loader), and finds its version in the package database or in the
// library itself.
func libc(r *rootfs, db *pkgDB, e *elfInfo, interp string) (Libc, error) {
	if e.interp == "" {
		return Libc{}, fmt.Errorf("%s: statically linked (no PT_INTERP), cannot tell its C library", interp)
	}
	loader := path.Base(e.interp)
	switch {
	case strings.HasPrefix(loader, "ld-musl-"):
		v, err := muslVersionOf(r, db, e)
		return Libc{Kind: "musl", Version: v}, err
	case strings.HasPrefix(loader, "ld-linux"), strings.HasPrefix(loader, "ld64.so."), loader == "ld.so.1":
		v, err := glibcVersionOf(r, db, e)
		return Libc{Kind: "glibc", Version: v}, err
	}
	return Libc{}, fmt.Errorf("%s: unknown dynamic loader %s", interp, e.interp)
}

func glibcVersionOf(r *rootfs, db *pkgDB, e *elfInfo) (string, error) {
	if v := upstreamVersion(findPkg(db.pkgs, "libc6", debArch(e.arch))); v != "" {
		if m := glibcMinor.FindString(v); m != "" {
			return m, nil
		}
	}
	// libc.so.6 sits beside the loader on every glibc layout; other copies
	// (multiarch, compat dirs) come after it.
	var dirs []string
	if real, err := r.resolve(e.interp); err == nil {
		dirs = append(dirs, path.Dir(real))
	}
	libs := r.match(func(b string) bool { return b == "libc.so.6" })
	sort.SliceStable(libs, func(i, j int) bool {
		return containsDir(dirs, path.Dir(libs[i])) && !containsDir(dirs, path.Dir(libs[j]))
	})
	for _, p := range libs {
		real, _, err := r.file(p)
		if err != nil {
			continue
		}
		data, err := r.read(real)
		if err != nil {
			return "", err
		}
		if le, err := parseELF(data); err != nil || le.machine != e.machine {
			continue
		}
		if m := glibcVersion.FindSubmatch(data); m != nil {
			return string(m[1]), nil
		}
	}
	return "", fmt.Errorf("glibc version not found: no libc6 in the package database and no version string in %d libc.so.6 files", len(libs))
}

func muslVersionOf(r *rootfs, db *pkgDB, e *elfInfo) (string, error) {
	if v := upstreamVersion(findPkg(db.pkgs, "musl", debArch(e.arch))); v != "" {
		return v, nil
	}
	data, err := r.read(e.interp)
	if err != nil {
		return "", fmt.Errorf("musl loader: %w", err)
	}
	// musl prints "Version %s" from a separate __libc_version literal, which
	// is the only NUL-delimited 1.x.y string in the loader.
	if !bytes.Contains(data, []byte("musl libc")) {
		return "", fmt.Errorf("%s: not a musl loader", e.interp)
	}
	found := map[string]bool{}
	for _, m := range muslVersion.FindAllSubmatch(data, -1) {
		found[string(m[1])] = true
	}
	if len(found) != 1 {
		return "", fmt.Errorf("%s: musl version not found (candidates: %v)", e.interp, sortedKeys(found))
	}
	return sortedKeys(found)[0], nil
}

func containsDir(dirs []string, d string) bool {
	for _, x := range dirs {
		if x == d {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
