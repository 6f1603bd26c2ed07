package verify

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/internal/ldso"
)

// user is the runtime user of an image as the config and /etc/passwd say.
type user struct {
	spec     string // config User
	uid, gid int
	known    bool   // uid resolved to a number
	problem  string // why the user is not a valid non-root user, or ""
	name     string // passwd name, when found
	inPasswd bool
}

// passwd maps names to uid and gid, and uids to names, from /etc/passwd.
func passwd(data []byte) (byName map[string][2]int, byUID map[int]string) {
	byName, byUID = map[string][2]int{}, map[int]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 4 {
			continue
		}
		uid, err1 := strconv.ParseUint(f[2], 10, 31)
		gid, err2 := strconv.ParseUint(f[3], 10, 31)
		if err1 != nil || err2 != nil {
			continue
		}
		// The first entry wins, as in getpwnam and getpwuid.
		if _, ok := byName[f[0]]; !ok {
			byName[f[0]] = [2]int{int(uid), int(gid)}
		}
		if _, ok := byUID[int(uid)]; !ok {
			byUID[int(uid)] = f[0]
		}
	}
	return byName, byUID
}

func runtimeUser(spec string, s *state) user {
	u := user{spec: spec}
	pw, hasPasswd := s.root["etc/passwd"]
	var byName map[string][2]int
	var byUID map[int]string
	if hasPasswd {
		byName, byUID = passwd(pw.Data)
	}
	name, group, _ := strings.Cut(spec, ":")
	switch {
	case name == "":
		u.known = true
		u.problem = "no USER set, so it runs as root"
	case isNumber(name):
		u.uid, _ = strconv.Atoi(name)
		u.known = true
		if n, ok := byUID[u.uid]; ok {
			u.name, u.inPasswd = n, true
			u.gid = byName[n][1]
		}
	default:
		ids, ok := byName[name]
		if !ok {
			u.problem = fmt.Sprintf("user %q is not in /etc/passwd", name)
			return u
		}
		u.uid, u.gid, u.known, u.name, u.inPasswd = ids[0], ids[1], true, name, true
	}
	if isNumber(group) {
		u.gid, _ = strconv.Atoi(group)
	}
	switch {
	case u.problem != "":
	case u.uid == 0:
		u.problem = fmt.Sprintf("USER %q is uid 0 (root)", spec)
	case !hasPasswd:
		u.problem = fmt.Sprintf("uid %d: the image has no /etc/passwd", u.uid)
	case !u.inPasswd:
		u.problem = fmt.Sprintf("uid %d has no entry in /etc/passwd", u.uid)
	}
	return u
}

func isNumber(s string) bool {
	_, err := strconv.ParseUint(s, 10, 31)
	return err == nil
}

func checkNonRoot(u user) outcome {
	if u.problem != "" {
		return outcome{findings: []finding{{subjects: []string{u.spec}, msg: u.problem}}}
	}
	return outcome{detail: fmt.Sprintf("uid %d (%s)", u.uid, u.name)}
}

func checkCommand(c v1.Config) outcome {
	argv := append(append([]string{}, c.Entrypoint...), c.Cmd...)
	if len(argv) == 0 {
		return outcome{findings: []finding{{msg: "no CMD or ENTRYPOINT"}}}
	}
	if len(argv) >= 2 && (argv[0] == "/bin/sh" || argv[0] == "sh" || argv[0] == "/bin/bash" || argv[0] == "bash") && argv[1] == "-c" {
		return outcome{findings: []finding{{subjects: []string{argv[0]}, warn: true,
			msg: fmt.Sprintf("shell form %q: signals go to the shell, not the app; use exec form", strings.Join(argv, " "))}}}
	}
	return outcome{detail: strings.Join(argv, " ")}
}

func checkHealthcheck(c v1.Config) outcome {
	h := c.Healthcheck
	if h == nil || len(h.Test) == 0 || h.Test[0] == "NONE" {
		return outcome{findings: []finding{{msg: "no HEALTHCHECK"}}}
	}
	return outcome{detail: strings.Join(h.Test, " ")}
}

// devPackages are distributions used to develop and test, not to run.
var devPackages = []string{
	"pytest", "coverage", "mypy", "ruff", "black", "ipython", "ipdb", "pylint", "flake8",
	"tox", "nox", "pre-commit", "hypothesis", "debugpy", "isort", "pyright", "bandit",
	"pytest-cov", "pytest-mock", "pytest-asyncio", "pytest-xdist", "faker", "factory-boy",
	"freezegun", "responses", "pdbpp", "jupyter", "notebook", "jupyterlab", "sphinx",
}

var nonNameChars = strings.NewReplacer("_", "-", ".", "-")

// normalize is the PEP 503 normalised form of a distribution name.
func normalize(name string) string {
	n := strings.ToLower(nonNameChars.Replace(name))
	for strings.Contains(n, "--") {
		n = strings.ReplaceAll(n, "--", "-")
	}
	return n
}

// distName returns the distribution named by a .dist-info or .egg-info
// entry name, and false for other names.
func distName(base string) (string, bool) {
	stem, ok := strings.CutSuffix(base, ".dist-info")
	if !ok {
		if stem, ok = strings.CutSuffix(base, ".egg-info"); !ok {
			return "", false
		}
	}
	// Both are name-version[-pyX.Y]; names in them have - escaped to _.
	name, _, _ := strings.Cut(stem, "-")
	return normalize(name), name != ""
}

func checkDevPackages(s *state, extra []string) outcome {
	bad := map[string]bool{}
	for _, n := range append(append([]string{}, devPackages...), extra...) {
		bad[normalize(n)] = true
	}
	found := map[string]string{} // metadata dir → name
	for p := range s.files {
		parts := strings.Split(p, "/")
		for i := 1; i < len(parts); i++ {
			if parts[i-1] != "site-packages" && parts[i-1] != "dist-packages" {
				continue
			}
			if n, ok := distName(parts[i]); ok && bad[n] {
				found[strings.Join(parts[:i+1], "/")] = n
			}
		}
	}
	var fs []finding
	for _, dir := range sortedKeys(found) {
		fs = append(fs, finding{subjects: []string{found[dir], dir}, msg: fmt.Sprintf("%s installed at /%s", found[dir], dir)})
	}
	return outcome{findings: fs, detail: "none found"}
}

// toolNames are build tools by file name; cc1 and cc1plus are found
// anywhere, the others in bin directories.
var toolNames = map[string]bool{
	"gcc": true, "cc": true, "c++": true, "g++": true, "clang": true, "clang++": true,
	"ld": true, "ld.bfd": true, "ld.gold": true, "ld.lld": true, "make": true, "cmake": true, "gmake": true,
}

// isTool reports whether base names a build tool, also in Debian's
// versioned and triplet-prefixed forms (gcc-12, x86_64-linux-gnu-gcc).
func isTool(base string) bool {
	if toolNames[base] {
		return true
	}
	if i := strings.LastIndex(base, "-"); i > 0 && isNumber(strings.ReplaceAll(base[i+1:], ".", "")) {
		base = base[:i]
		if toolNames[base] {
			return true
		}
	}
	for _, t := range []string{"gcc", "g++", "ld"} {
		if strings.HasSuffix(base, "-linux-gnu-"+t) {
			return true
		}
	}
	return false
}

func checkToolchain(s *state) outcome {
	var fs []finding
	for _, p := range sortedKeys(s.files) {
		e := s.files[p]
		dir, base := path.Split(p)
		dirBase := path.Base(dir)
		var what string
		switch {
		case e.isDir() && strings.HasPrefix(base, "python3") && dirBase == "include" && s.files[p+"/Python.h"] == nil:
			what = "Python headers"
		case e.isDir():
			continue
		case base == "cc1" || base == "cc1plus":
			what = "compiler"
		case base == "Python.h":
			what = "Python headers"
		case (dirBase == "bin" || dirBase == "sbin") && isTool(base):
			what = "build tool"
		default:
			continue
		}
		fs = append(fs, finding{subjects: []string{p, base}, msg: fmt.Sprintf("%s /%s", what, p)})
	}
	return outcome{findings: fs, detail: "none found"}
}

func checkSecrets(s *state, cf *v1.ConfigFile) outcome {
	var fs []finding
	for _, h := range s.hits {
		msg := fmt.Sprintf("%s in layer %d at /%s", h.kind, h.layer, h.path)
		if e, ok := s.files[h.path]; !ok {
			msg += " (deleted later, still in the layer)"
		} else if e.layer != h.layer {
			msg += fmt.Sprintf(" (overwritten in layer %d, still in layer %d)", e.layer, h.layer)
		}
		fs = append(fs, finding{subjects: []string{h.path}, msg: msg})
	}
	for _, kv := range cf.Config.Env {
		k, v, _ := strings.Cut(kv, "=")
		fs = append(fs, valueSecrets("env "+k, k, v)...)
	}
	for _, k := range sortedKeys(cf.Config.Labels) {
		fs = append(fs, valueSecrets("label "+k, k, cf.Config.Labels[k])...)
	}
	for i, h := range cf.History {
		for _, kind := range contentSecrets([]byte(h.CreatedBy + "\n" + h.Comment)) {
			fs = append(fs, finding{subjects: []string{fmt.Sprintf("history:%d", i)}, msg: fmt.Sprintf("%s in history entry %d", kind, i)})
		}
	}
	return outcome{findings: fs, detail: "none found"}
}

// valueSecrets reports the credentials in a config value, by where they
// are, never by value.
func valueSecrets(where, name, value string) []finding {
	var fs []finding
	for _, kind := range contentSecrets([]byte(value)) {
		fs = append(fs, finding{subjects: []string{name}, msg: fmt.Sprintf("%s in %s", kind, where)})
	}
	if len(fs) == 0 && value != "" && secretName(name) {
		fs = append(fs, finding{subjects: []string{name}, msg: fmt.Sprintf("%s has a value baked into the image", where)})
	}
	return fs
}

const baseDigest = "org.opencontainers.image.base.digest"

func checkBasePinned(m *v1.Manifest, c v1.Config) outcome {
	if d := m.Annotations[baseDigest]; d != "" {
		return outcome{detail: d}
	}
	if d := c.Labels[baseDigest]; d != "" {
		return outcome{detail: d}
	}
	return outcome{findings: []finding{{msg: "no " + baseDigest + " annotation or label"}}}
}

func checkSize(s *state, cfg Config) outcome {
	var fs []finding
	if cfg.MaxImageBytes > 0 && s.total > cfg.MaxImageBytes {
		fs = append(fs, finding{msg: fmt.Sprintf("%s uncompressed exceeds the budget of %s", mib(s.total), mib(cfg.MaxImageBytes))})
	}
	budget, warn := cfg.MaxWastedBytes, false
	if budget == 0 {
		budget, warn = defaultMaxWasted, true
	}
	if s.wasted > budget {
		fs = append(fs, finding{warn: warn, msg: fmt.Sprintf("%s wasted on files overwritten or deleted by later layers exceeds the budget of %s", mib(s.wasted), mib(budget))})
	}
	return outcome{findings: fs, detail: fmt.Sprintf("%s uncompressed, %s wasted", mib(s.total), mib(s.wasted))}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// maxListed bounds the paths named in one detail.
const maxListed = 5

func checkWritableApp(s *state, workdir string, u user) outcome {
	if !u.known {
		return outcome{skip: true, detail: "runtime uid unknown"}
	}
	if u.uid == 0 {
		return outcome{skip: true, detail: "runs as root, which can write everything"}
	}
	roots := []string{"app/.venv"}
	if w := clean(workdir); w != "" {
		roots = append(roots, w)
	}
	var bad []string
	for _, p := range sortedKeys(s.files) {
		e := s.files[p]
		if e.typ == tar.TypeSymlink || !under(p, roots) {
			continue
		}
		if e.uid == u.uid || e.mode&0o002 != 0 || (e.gid == u.gid && e.mode&0o020 != 0) {
			bad = append(bad, p)
		}
	}
	if len(bad) == 0 {
		return outcome{detail: fmt.Sprintf("/%s not writable by uid %d", strings.Join(roots, ", /"), u.uid)}
	}
	msg := fmt.Sprintf("%d paths writable by uid %d: /%s", len(bad), u.uid, strings.Join(bad[:min(len(bad), maxListed)], ", /"))
	if len(bad) > maxListed {
		msg += ", …"
	}
	return outcome{findings: []finding{{subjects: bad, msg: msg}}}
}

func under(p string, roots []string) bool {
	for _, r := range roots {
		if p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}

func checkSharedLibraries(s *state) (outcome, error) {
	root := rootFS{s.root}
	elfs, err := ldso.FindELF(root)
	if err != nil {
		return outcome{}, fmt.Errorf("verify: %w", err)
	}
	var fs []finding
	missing, err := ldso.Check(root, elfs)
	if err != nil {
		// An object the loader could not parse is a finding of its own, so
		// check one by one to name it and still check the rest.
		missing = nil
		for _, p := range elfs {
			m, err := ldso.Check(root, []string{p})
			if err != nil {
				fs = append(fs, finding{subjects: []string{p}, msg: fmt.Sprintf("/%s: unreadable ELF file: %v", p, err)})
			}
			missing = append(missing, m...)
		}
	}
	for _, m := range missing {
		fs = append(fs, finding{subjects: []string{m.Binary, m.Library}, msg: fmt.Sprintf("/%s needs %s, not found", m.Binary, m.Library)})
	}
	return outcome{findings: fs, detail: fmt.Sprintf("%d ELF files, every needed library found", len(elfs))}, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
