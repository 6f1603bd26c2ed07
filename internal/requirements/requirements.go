// Package requirements reads hashed requirements files, as
// `pip-compile --generate-hashes`, `uv pip compile --generate-hashes` and
// `uv export` write them, for an installer that installs a locked set and
// never resolves: every requirement must be pinned with == (or ===) and carry
// --hash lines.
//
// Lines are read as pip reads them: `\` at the end of a line joins the next
// (not after a comment), `#` starts a comment at the start of a line or after
// whitespace (so a URL fragment is not one), everything from the first word
// that starts with "-" is options, split like a shell would.
//
// Options accepted:
//
//   - -r/--requirement FILE and -c/--constraint FILE include another file,
//     relative to the including one; cycles are errors. Everything a -c file
//     lists, including through its own -r lines, is a constraint (as uv
//     reads it; pip would install what a -r inside a -c file lists).
//   - -i/--index-url, --extra-index-url, --no-index and -f/--find-links are
//     recorded in Options. Only their values may use ${VAR}, expanded from
//     the environment; a variable that is unset or empty is an error, and
//     ${VAR} anywhere else is refused, so that a credential passed this way
//     reaches the index request and nothing else.
//   - --only-binary and --no-binary are recorded with pip's precedence;
//     Select refuses a project --no-binary denies wheels, since kiln never
//     builds an sdist.
//   - --trusted-host and --pre are recorded.
//   - --prefer-binary, --require-hashes and --use-feature are accepted and
//     have no effect: kiln installs only wheels and always requires hashes,
//     and pip's features change how pip works, not what it installs.
//   - After a requirement: --hash=sha256:HEX (repeatable) and
//     -C/--config-settings (ignored: only builds read it).
//
// Refused with an error naming the file and line: any other option (pip
// accepts no others in a requirements file either; --no-deps, say, is a
// command-line option), an editable (-e) or a URL or path requirement, an
// unpinned or range requirement or constraint, a requirement without --hash
// (constraints may have none), a file-wide option on a requirement line (pip
// ignores it there), --hash on a line without a requirement (a continuation
// with its `\` missing), a second --index-url with another value (as uv does;
// pip lets the last win and drops the extra indexes given before it), and two
// pins of one project that can apply to the same target.
//
// A -r can reach any file, not only requirements files, so messages repeat
// only what parsed (names, versions, option names, the marker after a valid
// pin) and show URLs through Redact.
package requirements

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Requirement is one pinned requirement.
type Requirement struct {
	Name, Version string // Name normalised (PEP 503); Version as written after == or ===
	Extras        []string
	Marker        string   // PEP 508 marker text as written, "" if none
	Hashes        []string // "sha256:<hex>", lowercase
	File          string   // the file it is written in, as reached from the path given to Parse
	Line          int      // its first line, when continued over several
	// Constraint marks an entry of a -c file: it restricts the version and
	// hashes of a requirement of the same name, and installs nothing itself.
	Constraint bool
}

// Options are the file-wide options of a requirements file and the files it
// includes. URLs are kept with their credentials for the requests: show them
// only through Redact.
type Options struct {
	// IndexURL is the --index-url, "" when none is given (pip would use
	// PyPI). With NoIndex, IndexURL and ExtraIndexURLs are empty whatever the
	// files say, as pip ignores them then.
	IndexURL       string
	ExtraIndexURLs []string
	NoIndex        bool
	// FindLinks are http(s) URLs and absolute paths: a relative path is taken
	// relative to the file it is written in, a file: URL becomes its path.
	FindLinks []string
	// OnlyBinary and NoBinary are the resulting sets, sorted: ":all:" or
	// normalised names (":none:" empties a set when given, so never appears).
	OnlyBinary, NoBinary []string
	TrustedHosts         []string
	Pre                  bool
}

// File is a parsed requirements file with everything it includes.
type File struct {
	// Requirements are in the order written, an included file's entries at
	// the place of its -r or -c line. A project appears more than once only
	// with different markers (or once as a constraint).
	Requirements []Requirement
	Options      Options
}

// Bounds on hostile input, far above any real lock.
const (
	maxFileSize  = 16 << 20
	maxTotalSize = 64 << 20 // all files read, so that diamond includes cannot explode
	maxFiles     = 256
	// maxEntries bounds the entries of one project, which are compared
	// pairwise; uv writes one per fork of a universal resolution.
	maxEntries = 100
)

var errEditable = errors.New("-e/--editable: " + notIndexed + "; an editable install is a source tree, not a locked wheel " +
	"(only `-e .`, the project itself, is accepted: kiln adds the project from its source tree)")

// envRefRE is what pip expands: ${NAME} with NAME of upper-case letters,
// digits and '_'.
var envRefRE = regexp.MustCompile(`\$\{([A-Z0-9_]+)\}`)

// Parse reads the requirements file at path and the files it includes.
func Parse(path string) (*File, error) {
	p := &parser{
		format:  formatControl{noBinary: map[string]bool{}, onlyBinary: map[string]bool{}},
		byName:  map[string][]int{},
		markers: map[int]markerInfo{},
	}
	data, info, err := readFile(path)
	if err != nil {
		return nil, err
	}
	if err := p.parseFile(path, data, info, false); err != nil {
		return nil, err
	}
	switch {
	case p.unhashed == "":
	case p.hashed != "":
		return nil, fmt.Errorf("%s has no --hash, but %s has: kiln, like pip, checks the hash of every file", p.unhashed, p.hashed)
	default:
		return nil, fmt.Errorf("%s has no --hash: kiln installs only files it can check against the lock; "+
			"write the file with hashes (pip-compile --generate-hashes, uv pip compile --generate-hashes, uv export)", p.unhashed)
	}
	o := &p.file.Options
	if o.NoIndex {
		o.IndexURL, o.ExtraIndexURLs = "", nil
	}
	o.NoBinary, o.OnlyBinary = sortedSet(p.format.noBinary), sortedSet(p.format.onlyBinary)
	return &p.file, nil
}

type parser struct {
	file File
	// stack holds the files being read, outermost first, for cycles.
	stack  []os.FileInfo
	names  []string
	files  int
	bytes  int
	format formatControl
	byName map[string][]int // indexes into file.Requirements
	// markers caches markerInfo by index into file.Requirements, filled in
	// for the entries of projects listed more than once.
	markers map[int]markerInfo
	// indexURLAt is where IndexURL was set.
	indexURLAt string
	// hashed and unhashed describe the first requirement with and without
	// --hash, "file:line: name==version".
	hashed, unhashed string
}

// readFile reads a regular file of bounded size; a FIFO or device could
// block or never end.
func readFile(path string) ([]byte, os.FileInfo, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, nil, err
	}
	if len(data) > maxFileSize {
		return nil, nil, fmt.Errorf("%s: larger than %d MiB", path, maxFileSize>>20)
	}
	return data, info, nil
}

func (p *parser) parseFile(path string, data []byte, info os.FileInfo, constraint bool) error {
	if p.bytes += len(data); p.bytes > maxTotalSize {
		return fmt.Errorf("%s: the file and those it includes exceed %d MiB", path, maxTotalSize>>20)
	}
	text, err := decode(data)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	p.stack, p.names = append(p.stack, info), append(p.names, path)
	defer func() { p.stack, p.names = p.stack[:len(p.stack)-1], p.names[:len(p.names)-1] }()
	for _, l := range logicalLines(text) {
		if err := p.line(path, l, constraint); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) line(path string, l logicalLine, constraint bool) error {
	at := fmt.Sprintf("%s:%d", path, l.n)
	args, optionText := splitArgsOptions(l.text)
	words, err := shellSplit(optionText)
	if err != nil {
		return fmt.Errorf("%s: %w", at, err)
	}
	opts, err := parseOptions(words)
	if err != nil {
		return fmt.Errorf("%s: %w", at, err)
	}
	if args != "" {
		return p.requirement(at, path, l.n, args, opts, constraint)
	}
	for _, o := range opts {
		if o.name == "requirement" || o.name == "constraint" {
			if len(opts) > 1 {
				return fmt.Errorf("%s: give -r and -c on a line of their own", at)
			}
			return p.include(at, path, o, constraint)
		}
	}
	for _, o := range opts {
		if err := p.fileOption(at, path, o); err != nil {
			return fmt.Errorf("%s: %w", at, err)
		}
	}
	return nil
}

func (p *parser) include(at, path string, o option, constraint bool) error {
	flag := "-r"
	if o.name == "constraint" {
		flag = "-c"
	}
	if err := noEnv(o); err != nil {
		return fmt.Errorf("%s: %w", at, err)
	}
	ref := o.value
	switch {
	case ref == "":
		return fmt.Errorf("%s: %s needs a file name", at, flag)
	case urlSchemeRE.MatchString(ref):
		return fmt.Errorf("%s: %s %s: kiln reads included files from disk, not from URLs", at, flag, Redact(ref))
	}
	if p.files++; p.files > maxFiles {
		return fmt.Errorf("%s: %s %s: more than %d included files", at, flag, ref, maxFiles)
	}
	next := ref
	if !filepath.IsAbs(next) {
		next = filepath.Join(filepath.Dir(path), ref)
	}
	data, info, err := readFile(next)
	if err != nil {
		return fmt.Errorf("%s: %s %s: %w", at, flag, ref, err)
	}
	for i, open := range p.stack {
		if os.SameFile(open, info) {
			chain := strings.Join(append(slices.Clone(p.names[i:]), next), " → ")
			return fmt.Errorf("%s: %s %s: the file includes itself (%s)", at, flag, ref, chain)
		}
	}
	return p.parseFile(next, data, info, constraint || o.name == "constraint")
}

func (p *parser) fileOption(at, path string, o option) error {
	opts := &p.file.Options
	switch o.name {
	case "hash", "config-settings":
		return fmt.Errorf("--%s without a requirement on its line: is the `\\` missing at the end of the line before?", o.name)
	case "editable":
		// `-e .` is the project itself, as uv export writes it: kiln adds
		// the project from its source tree, so the line is not a dependency.
		if v := strings.TrimSuffix(strings.TrimPrefix(o.value, "file:"), "/"); v == "." {
			return nil
		}
		return errEditable
	case "index-url":
		u, err := indexURL(o)
		if err != nil {
			return err
		}
		if opts.IndexURL != "" && opts.IndexURL != u {
			return fmt.Errorf("--index-url %s: %s already set --index-url %s; kiln, like uv, takes one (give others with --extra-index-url)",
				Redact(o.value), p.indexURLAt, Redact(opts.IndexURL))
		}
		opts.IndexURL, p.indexURLAt = u, at
	case "extra-index-url":
		u, err := indexURL(o)
		if err != nil {
			return err
		}
		opts.ExtraIndexURLs = appendNew(opts.ExtraIndexURLs, u)
	case "no-index":
		opts.NoIndex = true
	case "find-links":
		l, err := findLinks(path, o.value)
		if err != nil {
			return fmt.Errorf("--find-links %s: %w", Redact(o.value), err)
		}
		opts.FindLinks = appendNew(opts.FindLinks, l)
	case "no-binary", "only-binary":
		if err := noEnv(o); err != nil {
			return err
		}
		target, other := p.format.noBinary, p.format.onlyBinary
		if o.name == "only-binary" {
			target, other = other, target
		}
		return handle(o.value, target, other)
	case "trusted-host":
		if err := noEnv(o); err != nil {
			return err
		}
		if o.value == "" || strings.ContainsAny(o.value, "/@ ") {
			return errors.New("--trusted-host takes a host name or host:port")
		}
		opts.TrustedHosts = appendNew(opts.TrustedHosts, o.value)
	case "pre":
		opts.Pre = true
	case "prefer-binary", "require-hashes", "use-feature":
		// No effect on what kiln installs; see the package documentation.
	}
	return nil
}

func (p *parser) requirement(at, path string, n int, text string, opts []option, constraint bool) error {
	if m := envRefRE.FindStringSubmatch(text); m != nil {
		return fmt.Errorf("%s: ${%s}: kiln expands environment variables only in --index-url, --extra-index-url and --find-links", at, m[1])
	}
	r := Requirement{File: path, Line: n, Constraint: constraint}
	if err := parseRequirement(text, &r); err != nil {
		return fmt.Errorf("%s: %w", at, err)
	}
	for _, o := range opts {
		switch o.name {
		case "hash":
			h, err := parseHash(o.value)
			if err != nil {
				return fmt.Errorf("%s: %s==%s: %w", at, r.Name, r.Version, err)
			}
			r.Hashes = appendNew(r.Hashes, h)
		case "config-settings":
			// Read only by builds, and kiln never builds.
		case "editable":
			return fmt.Errorf("%s: %w", at, errEditable)
		default:
			return fmt.Errorf("%s: %s==%s: --%s applies to the whole file: give it on a line of its own", at, r.Name, r.Version, o.name)
		}
	}
	if !constraint {
		switch desc := fmt.Sprintf("%s: %s==%s", at, r.Name, r.Version); {
		case len(r.Hashes) == 0 && p.unhashed == "":
			p.unhashed = desc
		case len(r.Hashes) > 0 && p.hashed == "":
			p.hashed = desc
		}
	}
	return p.add(at, r)
}

// add appends r, merging it into an entry for the same pin under the same
// marker (a file included twice, say) and refusing another pin of the same
// project that can apply to the same target.
func (p *parser) add(at string, r Requirement) error {
	var rm markerInfo
	if len(p.byName[r.Name]) > 0 {
		rm = newMarkerInfo(r.Marker)
	}
	for _, i := range p.byName[r.Name] {
		q := &p.file.Requirements[i]
		qm, ok := p.markers[i]
		if !ok {
			qm = newMarkerInfo(q.Marker)
			p.markers[i] = qm
		}
		same := samePin(q.Version, r.Version)
		if same && q.Constraint == r.Constraint && qm.normal == rm.normal {
			hashes, ok := intersect(q.Hashes, r.Hashes)
			if !ok {
				return fmt.Errorf("%s: %s==%s has no --hash in common with %s:%d, so no file satisfies both", at, r.Name, r.Version, q.File, q.Line)
			}
			q.Hashes = hashes
			for _, x := range r.Extras {
				q.Extras = appendNew(q.Extras, x)
			}
			return nil
		}
		if same {
			continue
		}
		if where, ok := overlap(qm, rm); ok {
			return fmt.Errorf("%s: %s==%s conflicts with %s==%s at %s:%d: both apply %s, and a locked set has one version of each project",
				at, r.Name, r.Version, q.Name, q.Version, q.File, q.Line, where)
		}
	}
	if len(p.byName[r.Name]) == maxEntries {
		return fmt.Errorf("%s: %s: more than %d entries for one project", at, r.Name, maxEntries)
	}
	if len(p.byName[r.Name]) > 0 {
		p.markers[len(p.file.Requirements)] = rm
	}
	p.byName[r.Name] = append(p.byName[r.Name], len(p.file.Requirements))
	p.file.Requirements = append(p.file.Requirements, r)
	return nil
}

// noEnv refuses ${VAR} in an option value kiln does not expand.
func noEnv(o option) error {
	if m := envRefRE.FindStringSubmatch(o.value); m != nil {
		return fmt.Errorf("--%s: ${%s}: kiln expands environment variables only in --index-url, --extra-index-url and --find-links", o.name, m[1])
	}
	return nil
}

// expand replaces ${VAR} from the environment. Errors name the variable,
// never a value.
func expand(s string) (string, error) {
	var err error
	out := envRefRE.ReplaceAllStringFunc(s, func(ref string) string {
		name := ref[2 : len(ref)-1]
		v := os.Getenv(name)
		if v == "" && err == nil {
			err = fmt.Errorf("environment variable %s is not set", name)
		}
		return v
	})
	return out, err
}

func indexURL(o option) (string, error) {
	u, err := expand(o.value)
	if err != nil {
		return "", fmt.Errorf("--%s %s: %w", o.name, Redact(o.value), err)
	}
	if parsed, err := url.Parse(u); err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
		return "", fmt.Errorf("--%s %s: not an http(s) URL: kiln reads package indexes over HTTP (a local directory of wheels is a --find-links)",
			o.name, Redact(o.value))
	}
	return u, nil
}

// findLinks resolves a --find-links value written in the file at path. pip
// takes a relative path relative to the file only if it exists there, else
// to its working directory; kiln, building a project, always takes the file.
func findLinks(path, value string) (string, error) {
	v, err := expand(value)
	if err != nil {
		return "", err
	}
	lower := strings.ToLower(v)
	switch {
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
		if u, err := url.Parse(v); err != nil || u.Host == "" {
			return "", errors.New("not a valid URL")
		}
		return v, nil
	case strings.HasPrefix(lower, "file:"):
		u, err := url.Parse(v)
		if err != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") || (u.Host != "" && u.Host != "localhost") {
			return "", errors.New("a file: URL must be file:///absolute/path")
		}
		return filepath.Clean(u.Path), nil
	case urlSchemeRE.MatchString(v):
		return "", errors.New("want an http(s) URL or a directory")
	case v == "":
		return "", errors.New("empty value")
	}
	if !filepath.IsAbs(v) {
		v = filepath.Join(filepath.Dir(path), v)
	}
	return filepath.Abs(v)
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
