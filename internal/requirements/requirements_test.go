package requirements

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/marker"
)

var (
	hashA = strings.Repeat("a", 64)
	hashB = strings.Repeat("b", 64)
	hashC = strings.Repeat("c", 64)
)

// fileHash is the digest the fixtures list for a file name (they were
// written with sha256 of the name standing in for the file).
func fileHash(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// writeFiles writes files into a new directory and returns the path of the
// first name given, the file to parse.
func writeFiles(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for i := 0; i+1 < len(files); i += 2 {
		p := filepath.Join(dir, files[i])
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(files[i+1]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, files[0])
}

// short is what the tests compare of a requirement.
type short struct {
	Name, Version, Marker string
	Extras                []string
	Hashes                int
	File                  string
	Line                  int
	Constraint            bool
}

func shorten(rs []Requirement) []short {
	var out []short
	for _, r := range rs {
		out = append(out, short{r.Name, r.Version, r.Marker, r.Extras, len(r.Hashes), filepath.Base(r.File), r.Line, r.Constraint})
	}
	return out
}

func env(t *testing.T, version, arch string) marker.Env {
	t.Helper()
	e, err := marker.LinuxCPython(version, arch)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func names(rs []Requirement) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name+"=="+r.Version)
	}
	return out
}

func TestUVExport(t *testing.T) {
	path := filepath.Join("testdata", "uv-export", "requirements.txt")
	f, err := Parse(path)
	if err != nil {
		t.Fatal(err)
	}
	const rt = "requirements.txt"
	want := []short{
		{"anyio", "4.8.0", "", nil, 2, rt, 3, false},
		{"certifi", "2025.1.31", "", nil, 2, rt, 9, false},
		{"exceptiongroup", "1.2.2", "python_full_version < '3.11'", nil, 2, rt, 15, false},
		{"h11", "0.14.0", "", nil, 2, rt, 19, false},
		{"numpy", "2.2.6", "python_full_version < '3.11'", nil, 3, rt, 23, false},
		{"numpy", "2.3.1", "python_full_version >= '3.11'", nil, 5, rt, 28, false},
		{"sniffio", "1.3.1", "", nil, 2, rt, 35, false},
		{"typing-extensions", "4.12.2", "python_full_version < '3.13'", nil, 2, rt, 39, false},
	}
	if got := shorten(f.Requirements); !reflect.DeepEqual(got, want) {
		t.Errorf("requirements:\n got %+v\nwant %+v", got, want)
	}
	if f.Requirements[0].File != path {
		t.Errorf("File = %q, want %q", f.Requirements[0].File, path)
	}
	if got := f.Requirements[0].Hashes; !reflect.DeepEqual(got, []string{
		"sha256:1d9fe889df5212298c0c0723fa20479d1b94883a2df44bd3897aa91083316f7a",
		"sha256:b5011f270ab5eb0abf13385f851315585cc37ef330dd88e27ec3d34d651fd47a",
	}) {
		t.Errorf("anyio hashes = %q", got)
	}
	if got := f.Requirements[5].Hashes[4]; got != fileHash("numpy-2.3.1-tar.gz") {
		t.Errorf("last hash of a five-line continuation = %q", got)
	}
	if !reflect.DeepEqual(f.Options, Options{}) {
		t.Errorf("options = %+v, want none", f.Options)
	}

	for _, tc := range []struct {
		version, arch string
		want          []string
	}{
		{"3.10.14", "amd64", []string{"anyio==4.8.0", "certifi==2025.1.31", "exceptiongroup==1.2.2", "h11==0.14.0", "numpy==2.2.6", "sniffio==1.3.1", "typing-extensions==4.12.2"}},
		{"3.12.8", "arm64", []string{"anyio==4.8.0", "certifi==2025.1.31", "h11==0.14.0", "numpy==2.3.1", "sniffio==1.3.1", "typing-extensions==4.12.2"}},
		{"3.13.1", "amd64", []string{"anyio==4.8.0", "certifi==2025.1.31", "h11==0.14.0", "numpy==2.3.1", "sniffio==1.3.1"}},
	} {
		sel, err := f.Select(env(t, tc.version, tc.arch))
		if err != nil {
			t.Fatalf("%s: %v", tc.version, err)
		}
		if got := names(sel); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Python %s: selected %q, want %q", tc.version, got, tc.want)
		}
	}
}

// uv export writes `-e .` for the project itself: that line is skipped (kiln
// adds the project from its source); any other editable is refused.
func TestUVExportWithProjectSkipsIt(t *testing.T) {
	f, err := Parse(filepath.Join("testdata", "uv-export-project", "requirements.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Requirements {
		if r.Line == 3 {
			t.Errorf("the -e . line became requirement %+v", r)
		}
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "requirements.txt")
	if err := os.WriteFile(p, []byte("-e ./libs/other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(p); err == nil || !strings.Contains(err.Error(), "requirements.txt:1: -e/--editable") {
		t.Fatalf("err = %v, want another editable refused", err)
	}
}

func TestPipCompile(t *testing.T) {
	f, err := Parse(filepath.Join("testdata", "pip-compile", "requirements.txt"))
	if err != nil {
		t.Fatal(err)
	}
	const rt = "requirements.txt"
	want := []short{
		{"amqp", "5.2.0", "", nil, 2, rt, 11, false},
		{"asgiref", "3.8.1", "", nil, 2, rt, 15, false},
		{"celery", "5.3.6", "", []string{"redis"}, 2, rt, 19, false},
		{"django", "5.0.6", "", nil, 2, rt, 23, false},
		{"kombu", "5.3.7", "", nil, 2, rt, 27, false},
		{"redis", "5.0.4", "", nil, 2, rt, 31, false},
		{"tomli", "2.0.1", `python_version < "3.11"`, nil, 2, rt, 35, false},
	}
	if got := shorten(f.Requirements); !reflect.DeepEqual(got, want) {
		t.Errorf("requirements:\n got %+v\nwant %+v", got, want)
	}
	wantOpts := Options{
		IndexURL:       "https://pypi.org/simple",
		ExtraIndexURLs: []string{"https://deploy:s3cr3t-t0ken@pypi.internal.example/simple/"},
		TrustedHosts:   []string{"pypi.internal.example"},
	}
	if !reflect.DeepEqual(f.Options, wantOpts) {
		t.Errorf("options:\n got %+v\nwant %+v", f.Options, wantOpts)
	}
	if got := Redact(f.Options.ExtraIndexURLs[0]); got != "https://deploy:****@pypi.internal.example/simple/" {
		t.Errorf("Redact = %q", got)
	}
	sel, err := f.Select(env(t, "3.10.14", "amd64"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sel) != 7 {
		t.Errorf("3.10 selects %q, want tomli too", names(sel))
	}
	sel, err = f.Select(env(t, "3.12.8", "amd64"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sel) != 6 || sel[2].Name != "celery" || !reflect.DeepEqual(sel[2].Extras, []string{"redis"}) {
		t.Errorf("3.12 selects %+v", sel)
	}
}

func TestSplitFiles(t *testing.T) {
	prod, err := Parse(filepath.Join("testdata", "split", "requirements-prod.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []short{
		{"django", "5.0.6", "", nil, 2, "common.txt", 2, false},
		{"celery", "5.3.6", "", []string{"redis"}, 2, "common.txt", 5, false},
		{"tomli", "2.0.1", `python_version < "3.11"`, nil, 2, "common.txt", 8, false},
		{"django", "5.0.6", "", nil, 1, "constraints.txt", 2, true},
		{"urllib3", "2.2.1", "", nil, 0, "constraints.txt", 3, true},
		{"gunicorn", "22.0.0", "", nil, 2, "requirements-prod.txt", 3, false},
	}
	if got := shorten(prod.Requirements); !reflect.DeepEqual(got, want) {
		t.Errorf("prod:\n got %+v\nwant %+v", got, want)
	}
	if got, want := prod.Requirements[0].File, filepath.Join("testdata", "split", "common.txt"); got != want {
		t.Errorf("included File = %q, want %q (relative to the including file)", got, want)
	}
	sel, err := prod.Select(env(t, "3.12.8", "amd64"))
	if err != nil {
		t.Fatal(err)
	}
	if got := names(sel); !reflect.DeepEqual(got, []string{"django==5.0.6", "celery==5.3.6", "gunicorn==22.0.0"}) {
		t.Errorf("prod selects %q (constraints install nothing)", got)
	}
	if got := sel[0].Hashes; !reflect.DeepEqual(got, []string{fileHash("Django-5.0.6-py3-none-any.whl")}) {
		t.Errorf("django hashes = %q, want the constraint's one", got)
	}
	if len(prod.Requirements[0].Hashes) != 2 {
		t.Error("Select changed the parsed file")
	}

	dev, err := Parse(filepath.Join("testdata", "split", "requirements-dev.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if got := names(dev.Requirements); !reflect.DeepEqual(got, []string{"django==5.0.6", "celery==5.3.6", "tomli==2.0.1", "pytest==8.2.0"}) {
		t.Errorf("dev = %q", got)
	}
}

func TestLines(t *testing.T) {
	content := "# a comment \\\n" + // a comment never continues
		"a==1.0 --hash=sha256:" + hashA + " # trailing comment\n" +
		"\n" +
		"  b==2.0 \\\r\n" + // CRLF, indented
		"   # a comment inside a continuation ends it, as in pip\r\n" +
		"c==3.0 \\\n" +
		"\\\n" + // a line of only a backslash
		"    --hash sha256:" + strings.ToUpper(hashB) + " \\\n" +
		"    --hash=sha256:" + hashB + " \\\n" + // repeated, in another case
		"    --hash='sha256:" + hashC + "'\n" +
		"--find-links https://example.com/wheels/#not-a-comment\n" +
		"d===local-build-1 --hash=sha256:" + hashA // no final newline
	path := writeFiles(t, "req.txt", content)
	f, err := Parse(path)
	if err == nil {
		t.Fatalf("parsed %+v; want b without a hash refused", f.Requirements)
	}
	if want := "req.txt:4: b==2.0 has no --hash, but " + filepath.Dir(path) + "/req.txt:2: a==1.0 has"; !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v", err)
	}

	content = strings.Replace(content, "  b==2.0 \\\r\n", "  b==2.0 --hash=sha256:"+hashA+"\r\n", 1)
	f, err = Parse(writeFiles(t, "req.txt", content))
	if err != nil {
		t.Fatal(err)
	}
	want := []short{
		{"a", "1.0", "", nil, 1, "req.txt", 2, false},
		{"b", "2.0", "", nil, 1, "req.txt", 4, false},
		{"c", "3.0", "", nil, 2, "req.txt", 6, false},
		{"d", "local-build-1", "", nil, 1, "req.txt", 12, false},
	}
	if got := shorten(f.Requirements); !reflect.DeepEqual(got, want) {
		t.Errorf("requirements:\n got %+v\nwant %+v", got, want)
	}
	if h := f.Requirements[2].Hashes; !reflect.DeepEqual(h, []string{"sha256:" + hashB, "sha256:" + hashC}) {
		t.Errorf("c hashes = %q, want lowercased, deduplicated, unquoted", h)
	}
	if fl := f.Options.FindLinks; !reflect.DeepEqual(fl, []string{"https://example.com/wheels/#not-a-comment"}) {
		t.Errorf("find-links = %q", fl)
	}
}

// pip joins continued lines as they are: without a space before the `\`,
// the --hash becomes part of the version.
func TestContinuationWithoutSpace(t *testing.T) {
	_, err := Parse(writeFiles(t, "req.txt", "a==1.0 --hash=sha256:"+hashA+"\n\ne==1.0\\\n--hash=sha256:"+hashA+"\n"))
	if err == nil || !strings.Contains(err.Error(), "req.txt:3: e: invalid version specifier") {
		t.Fatalf("err = %v", err)
	}
}

func TestOptions(t *testing.T) {
	t.Setenv("KILN_TEST_TOKEN", "hunter2")
	path := writeFiles(t, "sub/req.txt",
		"-ihttps://idx.example/simple\n"+
			"--index-url=https://idx.example/simple\n"+ // the same again is fine
			"--extra-index=https://__token__:${KILN_TEST_TOKEN}@private.example/simple\n"+ // an abbreviation, as optparse allows
			"--extra-index-url https://mirror.example/simple --extra-index-url https://mirror.example/simple\n"+
			"-f ../wheels\n"+
			"--find-links=file:///srv/wheels\n"+
			"--find-links https://example.com/links.html\n"+
			"--only-binary :all:\n"+
			"--no-binary psycopg2,Pillow\n"+
			"--only-binary pillow\n"+
			"--trusted-host idx.example:8080\n"+
			"--pre\n--prefer-binary\n--require-hashes\n--use-feature=fast-deps\n"+
			"a==1 --hash=sha256:"+hashA+" -C key=value\n")
	f, err := Parse(path)
	if err != nil {
		t.Fatal(err)
	}
	wheels, err := filepath.Abs(filepath.Join(filepath.Dir(path), "..", "wheels"))
	if err != nil {
		t.Fatal(err)
	}
	want := Options{
		IndexURL:       "https://idx.example/simple",
		ExtraIndexURLs: []string{"https://__token__:hunter2@private.example/simple", "https://mirror.example/simple"},
		FindLinks:      []string{wheels, "/srv/wheels", "https://example.com/links.html"},
		OnlyBinary:     []string{":all:", "pillow"},
		NoBinary:       []string{"psycopg2"},
		TrustedHosts:   []string{"idx.example:8080"},
		Pre:            true,
	}
	if !reflect.DeepEqual(f.Options, want) {
		t.Errorf("options:\n got %+v\nwant %+v", f.Options, want)
	}
	// A name in --no-binary wins over ":all:" in --only-binary, and a later
	// --only-binary takes the name back, as in pip's FormatControl.
	for name, allowed := range map[string]bool{"pillow": true, "psycopg2": false, "anything": true} {
		if got := f.Options.WheelAllowed(name); got != allowed {
			t.Errorf("WheelAllowed(%s) = %v", name, got)
		}
	}
}

func TestNoIndex(t *testing.T) {
	f, err := Parse(writeFiles(t, "req.txt", "--index-url https://idx.example/simple\n--no-index\n--extra-index-url https://x.example/simple\n-f wheels\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !f.Options.NoIndex || f.Options.IndexURL != "" || f.Options.ExtraIndexURLs != nil || len(f.Options.FindLinks) != 1 {
		t.Errorf("options = %+v, want --no-index to drop every index", f.Options)
	}
}

func TestFormatControl(t *testing.T) {
	for _, tc := range []struct {
		lines      string
		only, no   []string
		allowed    map[string]bool
		selectFail bool
	}{
		{"--no-binary :all:\n", nil, []string{":all:"}, map[string]bool{"a": false}, true},
		{"--no-binary :all:\n--only-binary a\n", []string{"a"}, []string{":all:"}, map[string]bool{"a": true, "b": false}, false},
		{"--no-binary a\n--no-binary :none:\n", nil, nil, map[string]bool{"a": true}, false},
		{"--no-binary :all:,:none:,a\n", nil, []string{"a"}, map[string]bool{"a": false, "b": true}, true},
		{"--only-binary a\n--no-binary A\n", nil, []string{"a"}, map[string]bool{"a": false}, true},
	} {
		f, err := Parse(writeFiles(t, "req.txt", tc.lines+"a==1 --hash=sha256:"+hashA+"\n"))
		if err != nil {
			t.Fatalf("%q: %v", tc.lines, err)
		}
		if !reflect.DeepEqual(f.Options.OnlyBinary, tc.only) || !reflect.DeepEqual(f.Options.NoBinary, tc.no) {
			t.Errorf("%q: only %q no %q", tc.lines, f.Options.OnlyBinary, f.Options.NoBinary)
		}
		for name, want := range tc.allowed {
			if got := f.Options.WheelAllowed(name); got != want {
				t.Errorf("%q: WheelAllowed(%s) = %v", tc.lines, name, got)
			}
		}
		_, err = f.Select(env(t, "3.12.8", "amd64"))
		if failed := err != nil; failed != tc.selectFail {
			t.Errorf("%q: Select err = %v", tc.lines, err)
		} else if failed && !strings.Contains(err.Error(), "req.txt:") {
			t.Errorf("%q: Select err %v names no line", tc.lines, err)
		}
	}
}

func TestEnvironmentVariables(t *testing.T) {
	t.Setenv("KILN_TEST_TOKEN", "hunter2")
	t.Setenv("KILN_TEST_EMPTY", "")
	for _, tc := range []struct{ content, want string }{
		{"--index-url https://u:${KILN_TEST_UNSET_VAR}@idx.example/simple\n", "req.txt:1: --index-url https://u:****@idx.example/simple: environment variable KILN_TEST_UNSET_VAR is not set"},
		{"--index-url https://u:${KILN_TEST_EMPTY}@idx.example/simple\n", "environment variable KILN_TEST_EMPTY is not set"},
		{"--index-url ftp://u:${KILN_TEST_TOKEN}@idx.example/simple\n", "req.txt:1: --index-url ftp://u:****@idx.example/simple: not an http(s) URL"},
		{"a==${KILN_TEST_TOKEN} --hash=sha256:" + hashA + "\n", "req.txt:1: ${KILN_TEST_TOKEN}: kiln expands environment variables only in"},
		{"-r ${KILN_TEST_TOKEN}.txt\n", "req.txt:1: --requirement: ${KILN_TEST_TOKEN}"},
		{"--trusted-host ${KILN_TEST_TOKEN}\n", "req.txt:1: --trusted-host: ${KILN_TEST_TOKEN}"},
	} {
		_, err := Parse(writeFiles(t, "req.txt", tc.content))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.content, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: the error shows the variable's value: %v", tc.content, err)
		}
	}
	f, err := Parse(writeFiles(t, "req.txt", "-f ${KILN_TEST_TOKEN}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Options.FindLinks[0]; filepath.Base(got) != "hunter2" || !filepath.IsAbs(got) {
		t.Errorf("find-links = %q", got)
	}
}

func TestErrors(t *testing.T) {
	h := " --hash=sha256:" + hashA
	for _, tc := range []struct {
		name  string
		files []string // name, content pairs; the first is parsed
		want  string
	}{
		{"range", []string{"req.txt", "a==1" + h + "\nflask>=2" + h + "\n"}, "req.txt:2: flask>=2 is a range, not a pin: kiln installs a locked set"},
		{"two clauses", []string{"req.txt", "flask==2.0,!=2.1" + h + "\n"}, "req.txt:1: flask==2.0,!=2.1 is a range"},
		{"wildcard", []string{"req.txt", "flask==2.*" + h + "\n"}, "req.txt:1: flask==2.* is a range"},
		{"compatible", []string{"req.txt", "flask~=2.0" + h + "\n"}, "req.txt:1: flask~=2.0 is a range"},
		{"no version", []string{"req.txt", "\n\nFlask" + h + "\n"}, "req.txt:3: flask: no version: kiln installs a locked set"},
		{"parenthesised range", []string{"req.txt", "flask (>=2)" + h + "\n"}, "req.txt:1: flask>=2 is a range"},
		{"bad version", []string{"req.txt", "flask==two" + h + "\n"}, "req.txt:1: flask: invalid version specifier"},
		{"no hash", []string{"req.txt", "# header\nflask==2.0\nclick==8.0\n"}, "req.txt:2: flask==2.0 has no --hash: kiln installs only files it can check"},
		{"some hashes", []string{"req.txt", "flask==2.0" + h + "\nclick==8.0 \\\n  # via flask\n"}, "req.txt:2: click==8.0 has no --hash, but %DIR%/req.txt:1: flask==2.0 has"},
		{"hash in an included file only", []string{"req.txt", "-r common.txt\nflask==2.0\n", "common.txt", "click==8.0" + h + "\n"}, "req.txt:2: flask==2.0 has no --hash, but"},
		{"unknown option", []string{"req.txt", "a==1" + h + "\n--frobnicate\n"}, "req.txt:2: unknown option --frobnicate (kiln reads -r/--requirement"},
		{"no-deps", []string{"req.txt", "--no-deps\n"}, "req.txt:1: unknown option --no-deps"},
		{"unknown short option", []string{"req.txt", "-x foo\n"}, "req.txt:1: unknown option -x"},
		{"ambiguous abbreviation", []string{"req.txt", "--no foo\n"}, "req.txt:1: ambiguous option --no: --no-binary, --no-index"},
		{"flag with a value", []string{"req.txt", "--pre=yes\n"}, "req.txt:1: --pre takes no value"},
		{"missing value", []string{"req.txt", "--index-url\n"}, "req.txt:1: --index-url needs a value"},
		{"stray words", []string{"req.txt", "--pre a==1\n"}, "req.txt:1: unexpected text among the options"},
		{"unclosed quote", []string{"req.txt", "a==1 --hash='sha256:" + hashA + "\n"}, "req.txt:1: unclosed single quote"},
		{"missing include", []string{"req.txt", "a==1" + h + "\n-r missing.txt\n"}, "req.txt:2: -r missing.txt: stat "},
		{"missing constraints", []string{"req.txt", "a==1" + h + "\n\n--constraint=missing.txt\n"}, "req.txt:3: -c missing.txt: stat "},
		{"missing in an included file", []string{"req.txt", "-r sub/common.txt\n", "sub/common.txt", "\n-r other.txt\n"}, "common.txt:2: -r other.txt: stat "},
		{"include is a directory", []string{"req.txt", "-r sub\n", "sub/x.txt", ""}, "req.txt:1: -r sub: " + "%DIR%/sub: not a regular file"},
		{"include by URL", []string{"req.txt", "-r https://u:pw@example.com/req.txt\n"}, "req.txt:1: -r https://u:****@example.com/req.txt: kiln reads included files from disk"},
		{"include with other options", []string{"req.txt", "-r a.txt --pre\n", "a.txt", ""}, "req.txt:1: give -r and -c on a line of their own"},
		{"cycle", []string{"a.txt", "-r b.txt\n", "b.txt", "\n-r a.txt\n"}, "b.txt:2: -r a.txt: the file includes itself (%DIR%/a.txt → %DIR%/b.txt → %DIR%/a.txt)"},
		{"self include", []string{"req.txt", "-c ./req.txt\n"}, "req.txt:1: -c ./req.txt: the file includes itself"},
		{"editable", []string{"req.txt", "a==1" + h + "\n-e ./pkg\n"}, "req.txt:2: -e/--editable: kiln installs wheels from indexes and --find-links only"},
		{"editable vcs", []string{"req.txt", "--editable=git+https://u:pw@example.com/x.git#egg=x\n"}, "req.txt:1: -e/--editable"},
		{"direct URL", []string{"req.txt", "foo[bar] @ https://example.com/foo-1.0-py3-none-any.whl" + h + "\n"}, "req.txt:1: foo: a direct URL requirement: kiln installs wheels from indexes and --find-links only"},
		{"URL", []string{"req.txt", "https://example.com/foo-1.0-py3-none-any.whl" + h + "\n"}, "req.txt:1: a path or URL requirement"},
		{"path", []string{"req.txt", "./wheels/foo-1.0-py3-none-any.whl" + h + "\n"}, "req.txt:1: a path or URL requirement"},
		{"wheel file", []string{"req.txt", "foo-1.0-py3-none-any.whl" + h + "\n"}, "req.txt:1: a path or URL requirement"},
		{"directory", []string{"req.txt", ".\n"}, "req.txt:1: a path or URL requirement"},
		{"duplicate pins", []string{"req.txt", "six==1.15.0" + h + "\nflask==2.0" + h + "\nSix==1.16.0" + h + "\n"}, "req.txt:3: six==1.16.0 conflicts with six==1.15.0 at %DIR%/req.txt:1: both apply wherever the other does"},
		{"duplicate pins, one marker", []string{"req.txt", "six==1.15.0 ; python_version < '3.11'" + h + "\nsix==1.16.0" + h + "\n"}, "req.txt:2: six==1.16.0 conflicts with six==1.15.0"},
		{"duplicate pins, same marker", []string{"req.txt", "six==1.15.0 ; python_version<'3.11'" + h + "\nsix==1.16.0 ; python_version < \"3.11\"" + h + "\n"}, "both apply under the same marker"},
		{"duplicate pins, overlapping markers", []string{"req.txt", "six==1.15.0 ; python_version >= '3.10'" + h + "\nsix==1.16.0 ; python_version >= '3.11'" + h + "\n"}, "req.txt:2: six==1.16.0 conflicts with six==1.15.0 at %DIR%/req.txt:1: both apply to Python 3.11.0 on linux x86_64"},
		{"duplicate across files", []string{"req.txt", "-r common.txt\nsix==1.16.0" + h + "\n", "common.txt", "six==1.15.0" + h + "\n"}, "req.txt:2: six==1.16.0 conflicts with six==1.15.0 at %DIR%/common.txt:1"},
		{"constraint against requirement", []string{"req.txt", "six==1.16.0" + h + "\n-c c.txt\n", "c.txt", "six==1.15\n"}, "c.txt:1: six==1.15 conflicts with six==1.16.0 at %DIR%/req.txt:1"},
		{"same pin, no common hash", []string{"req.txt", "six==1.16.0" + h + "\nsix==1.16 --hash=sha256:" + hashB + "\n"}, "req.txt:2: six==1.16 has no --hash in common with %DIR%/req.txt:1"},
		{"unpinned constraint", []string{"req.txt", "-c c.txt\n", "c.txt", "urllib3<2\n"}, "c.txt:1: urllib3<2 is a range"},
		{"hash without requirement", []string{"req.txt", "a==1\n    --hash=sha256:" + hashA + "\n"}, "req.txt:2: --hash without a requirement on its line: is the `\\` missing"},
		{"md5", []string{"req.txt", "a==1 --hash=md5:0123\n"}, "req.txt:1: a==1: --hash: pip and kiln accept only strong hashes"},
		{"sha512", []string{"req.txt", "a==1 --hash=sha512:0123\n"}, "req.txt:1: a==1: --hash=sha512:…: kiln checks sha256"},
		{"short digest", []string{"req.txt", "a==1 --hash=sha256:abc\n"}, "req.txt:1: a==1: --hash=sha256:…: the digest is not 64 hex digits"},
		{"no algorithm", []string{"req.txt", "a==1 --hash=" + hashA + "\n"}, "req.txt:1: a==1: --hash wants ALGORITHM:DIGEST"},
		{"file-wide option on a requirement line", []string{"req.txt", "a==1" + h + " --index-url https://x.example/simple\n"}, "req.txt:1: a==1: --index-url applies to the whole file"},
		{"include on a requirement line", []string{"req.txt", "a==1" + h + " -r other.txt\n"}, "req.txt:1: a==1: --requirement applies to the whole file"},
		{"second index", []string{"req.txt", "-i https://a.example/simple\n\n-i https://u:pw@b.example/simple\n"}, "req.txt:3: --index-url https://u:****@b.example/simple: %DIR%/req.txt:1 already set --index-url https://a.example/simple"},
		{"second index in an included file", []string{"req.txt", "-i https://a.example/simple\n-r b.txt\n", "b.txt", "-i https://b.example/simple\n"}, "b.txt:1: --index-url https://b.example/simple: %DIR%/req.txt:1 already set"},
		{"index not http", []string{"req.txt", "--index-url ./simple\n"}, "req.txt:1: --index-url ./simple: not an http(s) URL"},
		{"find-links scheme", []string{"req.txt", "-f ftp://x.example/wheels\n"}, "req.txt:1: --find-links ftp://x.example/wheels: want an http(s) URL or a directory"},
		{"find-links relative file URL", []string{"req.txt", "-f file:wheels\n"}, "req.txt:1: --find-links file:wheels: a file: URL must be file:///absolute/path"},
		{"bad binary value", []string{"req.txt", "--only-binary a,,b\n"}, "req.txt:1: --no-binary and --only-binary take :all:, :none: or project names"},
		{"trusted host URL", []string{"req.txt", "--trusted-host https://x.example/\n"}, "req.txt:1: --trusted-host takes a host name or host:port"},
		{"invalid marker", []string{"req.txt", "a==1 ; python_version <" + h + "\n"}, "req.txt:1: a==1: "},
		{"invalid name", []string{"req.txt", "-a-==1\n"}, "req.txt:1: unknown option"},
		{"invalid name end", []string{"req.txt", "a-==1" + h + "\n"}, "req.txt:1: invalid project name"},
		{"unclosed extras", []string{"req.txt", "a[b==1" + h + "\n"}, "req.txt:1: a: unclosed [ in the extras"},
		{"bad extra", []string{"req.txt", "a[b,]==1" + h + "\n"}, "req.txt:1: a: invalid extra name"},
		{"not UTF-8", []string{"req.txt", "a==1" + h + "\nb==1 \xff\n"}, "req.txt: line 2: not UTF-8 text"},
		{"UTF-32", []string{"req.txt", "\xff\xfe\x00\x00a"}, "req.txt: UTF-32 text is not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFiles(t, tc.files...)
			f, err := Parse(path)
			want := strings.ReplaceAll(tc.want, "%DIR%", filepath.Dir(path))
			if err == nil {
				t.Fatalf("parsed %+v, want an error with %q", f, want)
			}
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, want)
			}
			if strings.Contains(err.Error(), ":pw@") {
				t.Errorf("the error shows a password: %v", err)
			}
		})
	}
}

// A -r can reach any file, and its lines then reach error messages: those
// must not repeat text that failed to parse, which could be a secret. What
// they do quote is a name and version that parsed, the marker after them,
// and the name of an unknown option.
func TestErrorsDoNotEchoForeignFiles(t *testing.T) {
	for _, secret := range []string{
		"machine example.com login bob password hunter2",
		"SECRET_KEY=hunter2",
		"TOKEN==hunter2",
		"API_KEY: hunter2",
		`{"auths": {"ghcr.io": {"auth": "hunter2"}}}`,
		"export PASSWORD='hunter2'",
		"-----BEGIN OPENSSH PRIVATE KEY-----\nhunter2\n",
		"password = hunter2 ; ok",
		"--token hunter2",
		"x==1 --hash=sha256:hunter2",
	} {
		path := writeFiles(t, "req.txt", "-r secret\n", "secret", secret+"\n")
		_, err := Parse(path)
		if err == nil {
			t.Errorf("%q parsed", secret)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: error repeats the secret: %v", secret, err)
		}
		if !strings.Contains(err.Error(), "secret:") {
			t.Errorf("%q: error does not name the file: %v", secret, err)
		}
	}
}

func TestMarkersThatSelectCannotTellApart(t *testing.T) {
	// No witness tried at parse time satisfies both (3.11.0 and 3.11.99 each
	// satisfy one), so both are kept; a target in between has both apply.
	f, err := Parse(writeFiles(t, "req.txt",
		"six==1.15.0 ; python_full_version >= '3.11.4' --hash=sha256:"+hashA+"\n"+
			"six==1.16.0 ; python_full_version < '3.11.10' --hash=sha256:"+hashB+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Requirements) != 2 {
		t.Fatalf("requirements = %+v", f.Requirements)
	}
	_, err = f.Select(env(t, "3.11.5", "amd64"))
	if err == nil || !strings.Contains(err.Error(), "req.txt:2: six==1.16.0 and six==1.15.0 (") || !strings.Contains(err.Error(), "both apply to this target") {
		t.Fatalf("err = %v", err)
	}
	for _, v := range []string{"3.11.2", "3.12.0"} {
		if _, err := f.Select(env(t, v, "amd64")); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}
}

func TestDuplicates(t *testing.T) {
	// The same pin twice (a file reached by two includes, a constraint
	// repeating a requirement) is one entry, with the hashes both allow.
	path := writeFiles(t, "req.txt",
		"-r a.txt\n-r b.txt\n"+
			"six==1.16.0 ; python_version >= '3.8' --hash=sha256:"+hashA+" --hash=sha256:"+hashB+"\n",
		"a.txt", "-r common.txt\n",
		"b.txt", "-r common.txt\n",
		"common.txt", "six==1.16 ; python_version>='3.8' --hash=sha256:"+hashB+" --hash=sha256:"+hashC+"\nclick[Dev]==8.0 --hash=sha256:"+hashA+"\nclick[docs]==8.0.0 --hash=sha256:"+hashA+"\n")
	f, err := Parse(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []short{
		{"six", "1.16", "python_version>='3.8'", nil, 1, "common.txt", 1, false},
		{"click", "8.0", "", []string{"dev", "docs"}, 1, "common.txt", 2, false},
	}
	if got := shorten(f.Requirements); !reflect.DeepEqual(got, want) {
		t.Errorf("requirements:\n got %+v\nwant %+v", got, want)
	}
	if got := f.Requirements[0].Hashes; !reflect.DeepEqual(got, []string{"sha256:" + hashB}) {
		t.Errorf("six hashes = %q", got)
	}
}

func TestUTF16(t *testing.T) {
	text := "a==1 --hash=sha256:" + hashA + "\r\n"
	le := []byte{0xff, 0xfe}
	be := []byte{0xfe, 0xff}
	for _, r := range text {
		le = append(le, byte(r), 0)
		be = append(be, 0, byte(r))
	}
	for _, data := range [][]byte{le, be, append([]byte{0xef, 0xbb, 0xbf}, text...)} {
		f, err := Parse(writeFiles(t, "req.txt", string(data)))
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Requirements) != 1 || f.Requirements[0].Name != "a" {
			t.Errorf("parsed %+v", f.Requirements)
		}
	}
}

func TestEmptyFile(t *testing.T) {
	f, err := Parse(writeFiles(t, "req.txt", "# nothing to install\n"))
	if err != nil || len(f.Requirements) != 0 {
		t.Fatalf("f = %+v, err = %v", f, err)
	}
	if _, err := Parse(filepath.Join(t.TempDir(), "missing.txt")); err == nil || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("err = %v", err)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pass@host/simple":           "https://user:****@host/simple",
		"https://token@host/simple/":              "https://****@host/simple/",
		"https://host/simple":                     "https://host/simple",
		"https://u:p:q@host":                      "https://u:****@host",
		"https://u:p@ss@host/x":                   "https://u:****@host/x",
		"https://u:pa/ss@host/x":                  "https://u:****@host/x",
		"https://u:pa#ss@host/x?y":                "https://u:****@host/x?y",
		"see https://a:b@x/ and http://c@y/ too":  "see https://a:****@x/ and http://****@y/ too",
		`"https://a:b@x/","https://c:d@y/"`:       `"https://a:****@x/","https://c:****@y/"`,
		"no url here, user:pass@host":             "no url here, user:pass@host",
		"https://":                                "https://",
		"https://@host":                           "https://****@host",
		"https://host/path/@scope/pkg":            "https://****@scope/pkg",
		"git+https://u:p@host/x.git#egg=a":        "git+https://u:****@host/x.git#egg=a",
		"https://u:p@host/x?next=https://v:q@y/z": "https://u:****@host/x?next=https://v:****@y/z",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLimits(t *testing.T) {
	var many strings.Builder
	for i := range maxEntries + 1 {
		fmt.Fprintf(&many, "six==1.%d ; python_full_version == '3.12.%d' --hash=sha256:%s\n", i, i, hashA)
	}
	_, err := Parse(writeFiles(t, "req.txt", many.String()))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("req.txt:%d: six: more than %d entries", maxEntries+1, maxEntries)) {
		t.Errorf("entries: err = %v", err)
	}
	_, err = Parse(writeFiles(t, "req.txt", strings.Repeat("-r x.txt\n", maxFiles+1), "x.txt", ""))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("req.txt:%d: -r x.txt: more than %d included files", maxFiles+1, maxFiles)) {
		t.Errorf("includes: err = %v", err)
	}
}
