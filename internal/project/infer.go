package project

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// DefaultPort is the port an inferred server listens on when none is
// configured.
const DefaultPort = 8000

// AppDir is where the image puts the project.
const AppDir = "/app"

// maxScan bounds the size of a source file InferCommand reads: an app object
// is not defined in a generated multi-megabyte module.
const maxScan = 1 << 20

var (
	// A module-level assignment of a FastAPI or Flask object, annotated or
	// not: `app = FastAPI(`, `app: FastAPI = fastapi.FastAPI(`.
	appAssignRE = regexp.MustCompile(`^([A-Za-z_]\w*)\s*(?::[^=]*)?=\s*(?:[A-Za-z_]\w*\.)?(FastAPI|Flask)\(`)
	// The same inside a function: an application factory.
	indentedAssignRE = regexp.MustCompile(`^\s+([A-Za-z_]\w*)\s*(?::[^=]*)?=\s*(?:[A-Za-z_]\w*\.)?(FastAPI|Flask)\(`)
	topDefRE         = regexp.MustCompile(`^(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(`)
	wsgiSettingRE    = regexp.MustCompile(`^WSGI_APPLICATION\s*=\s*['"]([A-Za-z_][\w.]*)['"]`)
	wsgiAppRE        = regexp.MustCompile(`^application\s*(?::[^=]*)?=`)
)

// InferCommand returns the exec-form command the image runs and a one-line
// reason. A configured command wins. Otherwise, in this order:
//
//   - Django: manage.py, and WSGI_APPLICATION = "x.wsgi.application" in a
//     settings module (settings.py or settings/*.py) or else a wsgi.py that
//     defines application: gunicorn x.wsgi:application.
//   - FastAPI: a module assigning FastAPI(...): uvicorn module:app. uvicorn
//     itself, not gunicorn with uvicorn workers: a container runs one process
//     and is scaled by replicas, as FastAPI's container guide recommends.
//   - Flask: a module assigning Flask(...): gunicorn module:app.
//   - the single [project.scripts] entry.
//
// An app object created inside a function is served through that function as
// a factory (uvicorn --factory, gunicorn "module:create_app()"). Among
// several candidates, one at module level named app or application, in a
// module named main, app, asgi, wsgi or server, and shallowest, wins; a tie
// is an error listing them. Only the .py files that Files returns are read,
// by regular expression, skipping tests; nothing is executed. deps holds the
// normalised names of the installed third-party packages; a framework found
// without its server in deps is an error naming what to add. port 0 means
// DefaultPort.
func InferCommand(p *Project, deps map[string]bool, port int) ([]string, string, error) {
	if len(p.Config.Command) > 0 {
		return p.Config.Command, "command from [tool.kiln]", nil
	}
	if port <= 0 {
		port = DefaultPort
	}
	files, err := p.Files()
	if err != nil {
		return nil, "", err
	}
	s := scan{p: p}
	for _, f := range files {
		if f.Link != "" || !strings.HasSuffix(f.Rel, ".py") || f.Size > maxScan || isTest(f.Rel) {
			continue
		}
		if path.Base(f.Rel) == "manage.py" && (s.manage == "" || depth(f.Rel) < depth(s.manage)) {
			s.manage = f.Rel
		}
		if err := s.file(f.Rel); err != nil {
			return nil, "", err
		}
	}
	ports := strconv.Itoa(port)
	var notes []string

	if s.manage != "" {
		target, why, err := s.django()
		if err != nil {
			return nil, "", err
		}
		if target != "" {
			if !deps["gunicorn"] {
				return nil, "", missingServer(p, "Django project ("+why+")", "gunicorn")
			}
			cmd := []string{"gunicorn", target, "--bind", "0.0.0.0:" + ports}
			if dir := path.Dir(s.manage); dir != "." && dir != p.Layout.ImportRoot {
				cmd = append(cmd, "--chdir", path.Join(AppDir, dir))
			}
			return cmd, "Django project: " + why + "; served by gunicorn", nil
		}
		notes = append(notes, "found "+s.manage+" but no WSGI_APPLICATION setting or wsgi.py defining application")
	}

	if c, err := pick("FastAPI", s.apps["FastAPI"]); err != nil {
		return nil, "", err
	} else if c != nil {
		if !deps["uvicorn"] {
			return nil, "", missingServer(p, "FastAPI app "+c.String(), "uvicorn")
		}
		cmd := []string{"uvicorn", c.module + ":" + c.attr, "--host", "0.0.0.0", "--port", ports}
		if c.factory {
			cmd = append(cmd, "--factory")
		}
		return cmd, "FastAPI app " + c.String() + "; served by uvicorn", nil
	}

	if c, err := pick("Flask", s.apps["Flask"]); err != nil {
		return nil, "", err
	} else if c != nil {
		if !deps["gunicorn"] {
			return nil, "", missingServer(p, "Flask app "+c.String(), "gunicorn")
		}
		target := c.module + ":" + c.attr
		if c.factory {
			target += "()"
		}
		return []string{"gunicorn", target, "--bind", "0.0.0.0:" + ports}, "Flask app " + c.String() + "; served by gunicorn", nil
	}

	switch len(p.Scripts) {
	case 0:
	case 1:
		for name, ref := range p.Scripts {
			return []string{name}, fmt.Sprintf("the only [project.scripts] entry, %s = %q", name, ref), nil
		}
	default:
		names := make([]string, 0, len(p.Scripts))
		for name := range p.Scripts {
			names = append(names, name)
		}
		sort.Strings(names)
		notes = append(notes, "several [project.scripts] entries ("+strings.Join(names, ", ")+"), so none was picked")
	}

	msg := "no command could be inferred: looked for Django (manage.py with WSGI_APPLICATION or a wsgi.py), " +
		"a FastAPI app (`x = FastAPI(`), a Flask app (`x = Flask(`) in the project's .py files, " +
		"and a single [project.scripts] entry"
	if len(notes) > 0 {
		msg += "; " + strings.Join(notes, "; ")
	}
	return nil, "", fmt.Errorf("%s: %s; set command = [...] in [tool.kiln]", filepath.Join(p.Dir, pyprojectFile), msg)
}

func missingServer(p *Project, what, server string) error {
	return fmt.Errorf("%s: found a %s but %s is not a dependency; add it (uv add %s) or set command in [tool.kiln]",
		filepath.Join(p.Dir, pyprojectFile), what, server, server)
}

// candidate is an app object found in a module.
type candidate struct {
	rel, module, attr string
	factory           bool // attr is a function returning the app
}

func (c *candidate) String() string {
	kind := "object"
	if c.factory {
		kind = "factory"
	}
	return fmt.Sprintf("%s:%s (%s in %s)", c.module, c.attr, kind, c.rel)
}

// rank orders candidates: lower is better.
func (c *candidate) rank() [3]int {
	var r [3]int
	if c.factory {
		r[0] = 1
	}
	if c.attr != "app" && c.attr != "application" && c.attr != "create_app" && c.attr != "make_app" {
		r[0] += 2
	}
	last := c.module[strings.LastIndex(c.module, ".")+1:]
	switch last {
	case "main", "app", "asgi", "wsgi", "server":
	default:
		r[1] = 1
	}
	r[2] = strings.Count(c.module, ".")
	return r
}

// pick returns the best candidate, nil for none, or an error on a tie.
func pick(framework string, cs []*candidate) (*candidate, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	sort.SliceStable(cs, func(i, j int) bool {
		ri, rj := cs[i].rank(), cs[j].rank()
		if ri != rj {
			return less(ri, rj)
		}
		return cs[i].rel < cs[j].rel
	})
	if len(cs) > 1 && cs[0].rank() == cs[1].rank() {
		var names []string
		for _, c := range cs {
			names = append(names, c.String())
		}
		return nil, fmt.Errorf("found several %s apps and cannot choose: %s; set command in [tool.kiln]", framework, strings.Join(names, ", "))
	}
	return cs[0], nil
}

func less(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// scan collects what InferCommand looks for across the source files.
type scan struct {
	p       *Project
	manage  string                  // shallowest manage.py
	apps    map[string][]*candidate // by framework
	wsgiSet map[string][]string     // WSGI_APPLICATION value -> settings files
	wsgiPy  []string                // wsgi.py files defining application
}

func (s *scan) file(rel string) error {
	f, err := os.Open(filepath.Join(s.p.Dir, filepath.FromSlash(rel)))
	if err != nil {
		return fmt.Errorf("project %s: %w", s.p.Dir, err)
	}
	defer f.Close()
	module, importable := s.p.Layout.ModulePath(rel)
	settings := path.Base(rel) == "settings.py" || path.Base(path.Dir(rel)) == "settings"
	wsgi := path.Base(rel) == "wsgi.py"

	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), maxScan)
	fn := "" // the top-level function being read, if any
	for sc.Scan() {
		line := sc.Text()
		if trimmed := strings.TrimSpace(line); trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			fn = ""
			if m := topDefRE.FindStringSubmatch(line); m != nil {
				fn = m[1]
			}
		}
		if importable {
			if m := appAssignRE.FindStringSubmatch(line); m != nil {
				s.add(m[2], &candidate{rel: rel, module: module, attr: m[1]})
			} else if m := indentedAssignRE.FindStringSubmatch(line); m != nil && fn != "" {
				s.add(m[2], &candidate{rel: rel, module: module, attr: fn, factory: true})
			}
		}
		if settings {
			if m := wsgiSettingRE.FindStringSubmatch(line); m != nil {
				if s.wsgiSet == nil {
					s.wsgiSet = map[string][]string{}
				}
				s.wsgiSet[m[1]] = append(s.wsgiSet[m[1]], rel)
			}
		}
		if wsgi && wsgiAppRE.MatchString(line) {
			s.wsgiPy = append(s.wsgiPy, rel)
			wsgi = false
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, bufio.ErrTooLong) {
		return fmt.Errorf("project %s: %s: %w", s.p.Dir, rel, err)
	}
	return nil
}

func (s *scan) add(framework string, c *candidate) {
	if s.apps == nil {
		s.apps = map[string][]*candidate{}
	}
	for _, o := range s.apps[framework] {
		if o.module == c.module && o.attr == c.attr {
			return // the same factory creating its app twice
		}
	}
	s.apps[framework] = append(s.apps[framework], c)
}

// django returns the gunicorn target and why, or "" when no WSGI
// application was found.
func (s *scan) django() (string, string, error) {
	switch len(s.wsgiSet) {
	case 0:
	case 1:
		for v, files := range s.wsgiSet {
			i := strings.LastIndex(v, ".")
			if i <= 0 {
				return "", "", fmt.Errorf("project %s: %s: WSGI_APPLICATION %q is not module.attribute", s.p.Dir, files[0], v)
			}
			return v[:i] + ":" + v[i+1:], fmt.Sprintf("%s and WSGI_APPLICATION = %q in %s", s.manage, v, files[0]), nil
		}
	default:
		var vals []string
		for v, files := range s.wsgiSet {
			vals = append(vals, fmt.Sprintf("%q in %s", v, strings.Join(files, ", ")))
		}
		sort.Strings(vals)
		return "", "", fmt.Errorf("project %s: several WSGI_APPLICATION settings: %s; set command in [tool.kiln]", s.p.Dir, strings.Join(vals, "; "))
	}
	// Django's own root is the directory of manage.py.
	root := path.Dir(s.manage)
	var targets, files []string
	for _, rel := range s.wsgiPy {
		r := rel
		if root != "." {
			var ok bool
			if r, ok = strings.CutPrefix(rel, root+"/"); !ok {
				continue
			}
		}
		if mod, ok := dottedModule(r); ok {
			targets = append(targets, mod+":application")
			files = append(files, rel)
		}
	}
	switch len(targets) {
	case 0:
		return "", "", nil
	case 1:
		return targets[0], fmt.Sprintf("%s and %s defining application", s.manage, files[0]), nil
	default:
		return "", "", fmt.Errorf("project %s: several wsgi.py files define application (%s); set command in [tool.kiln]", s.p.Dir, strings.Join(targets, ", "))
	}
}

// isTest reports whether rel is test code, whose apps are fixtures.
func isTest(rel string) bool {
	base := path.Base(rel)
	if base == "conftest.py" || strings.HasPrefix(base, "test_") || strings.HasSuffix(base, "_test.py") {
		return true
	}
	for _, part := range strings.Split(path.Dir(rel), "/") {
		if part == "tests" || part == "test" {
			return true
		}
	}
	return false
}

func depth(rel string) int { return strings.Count(rel, "/") }
