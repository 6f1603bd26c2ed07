package pyindex

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kiln-build/kiln/internal/testindex"
	"github.com/kiln-build/kiln/internal/testwheels"
)

// noCreds keeps tests from reading the real ~/.netrc and environment.
type noCreds struct{}

func (noCreds) For(*url.URL) (string, string, bool) { return "", "", false }

// recorder is a RoundTripper that remembers the requests it forwards and
// can replace their Accept header, to make a server answer in HTML.
type recorder struct {
	base   http.RoundTripper
	accept string

	mu   sync.Mutex
	reqs []*http.Request
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if r.accept != "" {
		req = req.Clone(req.Context())
		req.Header.Set("Accept", r.accept)
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	base := r.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
}

func (r *recorder) requests() []*http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*http.Request(nil), r.reqs...)
}

func fileSHA256(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func byName(files []File) map[string]File {
	m := map[string]File{}
	for _, f := range files {
		m[f.Filename] = f
	}
	return m
}

func TestFilesJSON(t *testing.T) {
	dir := testwheels.Wheelhouse(t)
	srv := testindex.Start(t, dir)
	rec := &recorder{}
	c := &Client{HTTP: &http.Client{Transport: rec}, Credentials: noCreds{}}

	files, err := c.Files(context.Background(), srv.URL(), "Flask")
	if err != nil {
		t.Fatal(err)
	}
	reqs := rec.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1 (the normalized URL needs no redirect)", len(reqs))
	}
	if got := reqs[0].URL.Path; got != "/simple/flask/" {
		t.Errorf("requested %s, want /simple/flask/", got)
	}
	if got, want := reqs[0].Header.Get("Accept"), "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"; got != want {
		t.Errorf("Accept = %q, want pip's %q", got, want)
	}
	if len(files) != 1 {
		t.Fatalf("files = %+v, want flask's one wheel", files)
	}
	f := files[0]
	base, _ := url.Parse(srv.URL())
	wantURL := "http://" + base.Host + "/files/flask-2.2.2-py3-none-any.whl"
	if f.Filename != "flask-2.2.2-py3-none-any.whl" || f.URL != wantURL {
		t.Errorf("file = %s at %s, want %s", f.Filename, f.URL, wantURL)
	}
	p := filepath.Join(dir, f.Filename)
	if got, want := f.Hashes["sha256"], fileSHA256(t, p); got != want {
		t.Errorf("sha256 = %s, want %s", got, want)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if f.Size != fi.Size() {
		t.Errorf("size = %d, want %d", f.Size, fi.Size())
	}
	if f.RequiresPython != ">=3.7" {
		t.Errorf("requires-python = %q, want >=3.7 (from flask's METADATA)", f.RequiresPython)
	}
	if f.Yanked {
		t.Error("flask is not yanked")
	}
}

func TestFilesHTMLMatchesJSON(t *testing.T) {
	dir := testwheels.Wheelhouse(t)
	srv := testindex.Start(t, dir)
	jsonClient := &Client{Credentials: noCreds{}}
	htmlRec := &recorder{accept: "text/html"}
	htmlClient := &Client{HTTP: &http.Client{Transport: htmlRec}, Credentials: noCreds{}}
	for _, project := range []string{"MarkupSafe", "kiln.demo_ext", "Werkzeug", "kiln-dev-tool"} {
		fromJSON, err := jsonClient.Files(context.Background(), srv.URL(), project)
		if err != nil {
			t.Fatal(err)
		}
		fromHTML, err := htmlClient.Files(context.Background(), srv.URL(), project)
		if err != nil {
			t.Fatal(err)
		}
		if len(fromJSON) == 0 {
			t.Fatalf("%s: no files", project)
		}
		// HTML pages carry no size.
		for i := range fromJSON {
			fromJSON[i].Size = 0
		}
		if !reflect.DeepEqual(fromJSON, fromHTML) {
			t.Errorf("%s:\nJSON %+v\nHTML %+v", project, fromJSON, fromHTML)
		}
	}
	last := htmlRec.requests()
	if got := last[len(last)-1].URL.Path; got != "/simple/kiln-dev-tool/" {
		t.Errorf("requested %s", got)
	}
}

func TestFilesNotFoundIsEmpty(t *testing.T) {
	srv := testindex.Start(t, testwheels.Wheelhouse(t))
	c := &Client{Credentials: noCreds{}}
	files, err := c.Files(context.Background(), srv.URL()+"/", "no-such-project")
	if err != nil || len(files) != 0 {
		t.Fatalf("files %v, err %v; want none and no error", files, err)
	}
}

func TestFilesRejectsBadInput(t *testing.T) {
	c := &Client{Credentials: noCreds{}}
	for _, tc := range []struct{ index, project, want string }{
		{"http://127.0.0.1:1/simple", "../etc", "not a valid project name"},
		{"http://127.0.0.1:1/simple", "", "not a valid project name"},
		{"ftp://example.com/simple", "flask", "not an http(s) URL"},
		{"/srv/simple", "flask", "not an http(s) URL"},
	} {
		_, err := c.Files(context.Background(), tc.index, tc.project)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Files(%q, %q) = %v, want %q", tc.index, tc.project, err, tc.want)
		}
	}
}

// yankedJSON and yankedHTML are one project page, with a file of each
// yanked form, as PEP 691 and PEP 503/592 write them.
const yankedJSON = `{
  "meta": {"api-version": "1.4", "_private": 1},
  "name": "demo",
  "versions": ["1.0"],
  "files": [
    {"filename": "demo-1.0-py3-none-any.whl", "url": "../../files/demo-1.0-py3-none-any.whl",
     "hashes": {"sha256": "AA11"}, "requires-python": ">=3.8", "size": 10, "yanked": "broken on 3.12",
     "core-metadata": {"sha256": "ff"}, "unknown-key": [1, 2]},
    {"filename": "demo-1.0-1-py3-none-any.whl", "url": "https://cdn.example/demo-1.0-1-py3-none-any.whl",
     "hashes": {"sha256": "bb22"}, "size": 11, "yanked": true},
    {"filename": "demo-1.0.tar.gz", "url": "/files/demo-1.0.tar.gz", "hashes": {}, "size": 12, "yanked": false}
  ]
}`

const yankedHTML = `<!DOCTYPE html>
<html><head><meta name="pypi:repository-version" content="1.0"><title>Links for demo</title></head>
<body>
<!-- <a href="commented-out.whl">commented-out.whl</a> -->
<a href="../../files/demo-1.0-py3-none-any.whl#sha256=AA11" data-requires-python="&gt;=3.8" data-yanked="broken on 3.12">demo-1.0-py3-none-any.whl</a><br/>
<A HREF='https://cdn.example/demo-1.0-1-py3-none-any.whl#sha256=bb22' data-yanked data-dist-info-metadata="sha256=ff">demo-1.0-1-py3-none-any.whl</A><br/>
<a href="/files/demo-1.0.tar.gz">demo-1.0.tar.gz</a>
</body></html>`

func yankedServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/simple/demo/" {
			http.NotFound(w, r)
			return
		}
		if strings.HasPrefix(r.Header.Get("Accept"), "application/vnd.pypi.simple.v1+json") {
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
			fmt.Fprint(w, yankedJSON)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, yankedHTML)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestYankedFiles(t *testing.T) {
	srv := yankedServer(t)
	want := []File{
		{Filename: "demo-1.0-py3-none-any.whl", URL: srv.URL + "/files/demo-1.0-py3-none-any.whl",
			Hashes: map[string]string{"sha256": "aa11"}, Size: 10, RequiresPython: ">=3.8", Yanked: true, YankedReason: "broken on 3.12"},
		{Filename: "demo-1.0-1-py3-none-any.whl", URL: "https://cdn.example/demo-1.0-1-py3-none-any.whl",
			Hashes: map[string]string{"sha256": "bb22"}, Size: 11, Yanked: true},
		{Filename: "demo-1.0.tar.gz", URL: srv.URL + "/files/demo-1.0.tar.gz", Size: 12},
	}
	for _, accept := range []string{"", "text/html"} {
		c := &Client{HTTP: &http.Client{Transport: &recorder{accept: accept}}, Credentials: noCreds{}}
		files, err := c.Files(context.Background(), srv.URL+"/simple", "Demo")
		if err != nil {
			t.Fatal(err)
		}
		if accept != "" {
			for i := range want {
				want[i].Size = 0
			}
		}
		if !reflect.DeepEqual(files, want) {
			t.Errorf("Accept %q:\ngot  %+v\nwant %+v", accept, files, want)
		}
		// An exact pin may install yanked files (PEP 592): Pick keeps them,
		// marked, and never the sdist.
		picked := Pick(files, "demo", "1.0", []string{"sha256:AA11", "bb22"})
		if len(picked) != 2 || !picked[0].Yanked || !picked[1].Yanked {
			t.Errorf("Pick = %+v, want both yanked wheels", picked)
		}
	}
}

func TestPick(t *testing.T) {
	files := []File{
		{Filename: "Werkzeug-2.2.2-py3-none-any.whl", Hashes: map[string]string{"sha256": "aa"}},
		{Filename: "werkzeug-2.2.2-cp311-cp311-manylinux_2_36_x86_64.whl", Hashes: map[string]string{"sha256": "bb"}},
		{Filename: "werkzeug-2.2.3-py3-none-any.whl", Hashes: map[string]string{"sha256": "cc"}},
		{Filename: "werkzeug-2.2.2.tar.gz", Hashes: map[string]string{"sha256": "dd"}},
		{Filename: "werkzeug_extra-2.2.2-py3-none-any.whl", Hashes: map[string]string{"sha256": "ee"}},
		{Filename: "werkzeug-2.2.2-py2-none-any.whl", Hashes: map[string]string{"md5": "ff"}},
		{Filename: "not a wheel.whl", Hashes: map[string]string{"sha256": "aa"}},
	}
	all := []string{"sha256:aa", "sha256:BB", "cc", "sha256:dd", "ee", "md5:ff", "sha512:aa"}
	names := func(fs []File) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Filename)
		}
		return out
	}
	for _, tc := range []struct {
		name, version string
		hashes        []string
		want          []string
	}{
		{"werkzeug", "2.2.2", all, []string{"Werkzeug-2.2.2-py3-none-any.whl", "werkzeug-2.2.2-cp311-cp311-manylinux_2_36_x86_64.whl"}},
		{"Werkzeug", "2.2.2.0", all, []string{"Werkzeug-2.2.2-py3-none-any.whl", "werkzeug-2.2.2-cp311-cp311-manylinux_2_36_x86_64.whl"}},
		{"werkzeug", "2.2.2", []string{"sha256:bb"}, []string{"werkzeug-2.2.2-cp311-cp311-manylinux_2_36_x86_64.whl"}},
		{"werkzeug", "2.2.2", []string{"sha512:aa", "md5:ff"}, nil},
		{"werkzeug", "2.2.*", all, nil},
		{"werkzeug", "2.2.3", all, []string{"werkzeug-2.2.3-py3-none-any.whl"}},
		{"werkzeug.extra", "2.2.2", all, []string{"werkzeug_extra-2.2.2-py3-none-any.whl"}},
		{"werkzeug", "2.2.2", nil, nil},
	} {
		if got := names(Pick(files, tc.name, tc.version, tc.hashes)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Pick(%s==%s, %v) = %v, want %v", tc.name, tc.version, tc.hashes, got, tc.want)
		}
	}
}

func TestFindLinksDirectory(t *testing.T) {
	dir := testwheels.Wheelhouse(t)
	c := &Client{Credentials: noCreds{}}
	files, err := c.FindLinks(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*.whl"))
	if len(files) != len(paths) || len(files) == 0 {
		t.Fatalf("%d files, want the %d wheels", len(files), len(paths))
	}
	for _, f := range files {
		p := filepath.Join(dir, f.Filename)
		u, err := url.Parse(f.URL)
		if err != nil || u.Scheme != "file" || u.Path != p {
			t.Errorf("%s: URL %s, want file://%s", f.Filename, f.URL, p)
		}
		if f.Hashes["sha256"] != fileSHA256(t, p) {
			t.Errorf("%s: wrong sha256", f.Filename)
		}
	}
	flask := byName(files)["flask-2.2.2-py3-none-any.whl"]
	if got := Pick(files, "Flask", "2.2.2", []string{"sha256:" + flask.Hashes["sha256"]}); len(got) != 1 || got[0].Filename != flask.Filename {
		t.Errorf("Pick = %+v", got)
	}

	// The same through a file:// URL; a directory named *.whl is no wheel.
	tmp := t.TempDir()
	if err := os.Mkdir(filepath.Join(tmp, "dir.whl"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "a-1.0-py3-none-any.whl"), []byte("wheel"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "a-1.0.tar.gz"), []byte("sdist"), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err = c.FindLinks(context.Background(), (&url.URL{Scheme: "file", Path: tmp}).String())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("wheel"))
	want := []File{{Filename: "a-1.0-py3-none-any.whl", URL: "file://" + filepath.Join(tmp, "a-1.0-py3-none-any.whl"),
		Hashes: map[string]string{"sha256": hex.EncodeToString(sum[:])}, Size: 5}}
	if !reflect.DeepEqual(files, want) {
		t.Errorf("got %+v\nwant %+v", files, want)
	}

	if _, err := c.FindLinks(context.Background(), filepath.Join(tmp, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing directory: %v", err)
	}
	if _, err := c.FindLinks(context.Background(), "ftp://example.com/wheels"); err == nil {
		t.Error("ftp location accepted")
	}
}

func TestFindLinksPage(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/wheels/" {
			http.NotFound(w, r)
			return
		}
		// A plain directory listing: no content type, parent link, sdists.
		w.Header()["Content-Type"] = nil
		fmt.Fprintf(w, `<html><body><a href="../">../</a>
<a href="a-1.0-py3-none-any.whl#sha256=0A0A">a-1.0-py3-none-any.whl</a>
<a href="sub/b-2.0-py3-none-any.whl">b</a>
<a href="a-1.0.tar.gz#sha256=0b0b">a-1.0.tar.gz</a>
<a href="mailto:admin@example.com">admin</a>
<a href="%s/other/c-1.0-py3-none-any.whl?x=1&amp;y=2">c</a>
</body></html>`, srv.URL)
	}))
	t.Cleanup(srv.Close)
	c := &Client{Credentials: noCreds{}}
	files, err := c.FindLinks(context.Background(), srv.URL+"/wheels/")
	if err != nil {
		t.Fatal(err)
	}
	want := []File{
		{Filename: "a-1.0-py3-none-any.whl", URL: srv.URL + "/wheels/a-1.0-py3-none-any.whl", Hashes: map[string]string{"sha256": "0a0a"}},
		{Filename: "b-2.0-py3-none-any.whl", URL: srv.URL + "/wheels/sub/b-2.0-py3-none-any.whl"},
		{Filename: "c-1.0-py3-none-any.whl", URL: srv.URL + "/other/c-1.0-py3-none-any.whl?x=1&y=2"},
	}
	if !reflect.DeepEqual(files, want) {
		t.Errorf("got  %+v\nwant %+v", files, want)
	}
	// A find-links page that is not there is a mistake, unlike a project
	// an index does not have.
	if _, err := c.FindLinks(context.Background(), srv.URL+"/nothing/"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("missing page: %v", err)
	}
}

func TestRetries(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch {
		case r.URL.Path == "/always/simple/x/":
			http.Error(w, "down", http.StatusBadGateway)
		case r.URL.Path == "/gone/simple/x/":
			http.NotFound(w, r)
		case r.URL.Path == "/forbidden/simple/x/":
			http.Error(w, "no", http.StatusForbidden)
		case n == 1:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case n == 2:
			// Drop the connection without an answer, as a reset does.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		default:
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
			fmt.Fprint(w, `{"meta":{"api-version":"1.0"},"files":[{"filename":"x-1-py3-none-any.whl","url":"x-1-py3-none-any.whl","hashes":{}}]}`)
		}
	}))
	t.Cleanup(srv.Close)
	c := &Client{Credentials: noCreds{}, Backoff: time.Millisecond, Retries: 2}
	files, err := c.Files(context.Background(), srv.URL+"/ok/simple", "x")
	if err != nil || len(files) != 1 {
		t.Fatalf("files %v, err %v", files, err)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("%d calls, want 3 (503, reset, answer)", n)
	}

	calls.Store(10)
	_, err = c.Files(context.Background(), srv.URL+"/always/simple", "x")
	if err == nil || !strings.Contains(err.Error(), "502") || !strings.Contains(err.Error(), "after 3 attempts") {
		t.Errorf("persistent 502: %v", err)
	}
	if n := calls.Load() - 10; n != 3 {
		t.Errorf("%d calls for a persistent 502, want 3 (bounded)", n)
	}
	for _, p := range []string{"/gone", "/forbidden"} {
		calls.Store(10)
		_, err := c.Files(context.Background(), srv.URL+p+"/simple", "x")
		if n := calls.Load() - 10; n != 1 {
			t.Errorf("%s: %d calls, want 1: only transient failures are retried (err %v)", p, n, err)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Files(ctx, srv.URL+"/ok/simple", "x"); err == nil {
		t.Error("cancelled context: no error")
	}
}

func TestUnsupportedPages(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/plain/simple/x/":
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, "x-1-py3-none-any.whl")
		case "/v2/simple/x/":
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
			fmt.Fprint(w, `{"meta":{"api-version":"2.0"},"files":[]}`)
		case "/v2html/simple/x/":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<meta name="pypi:repository-version" content="2.1"><a href="x-1-py3-none-any.whl">x</a>`)
		case "/local/simple/x/":
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
			fmt.Fprint(w, `{"meta":{"api-version":"1.0"},"files":[{"filename":"x-1-py3-none-any.whl","url":"file:///etc/passwd","hashes":{}}]}`)
		case "/bad/simple/x/":
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
			fmt.Fprint(w, `{"meta":{"api-version":"1.0"},"files":[{"filename":"x-1-py3-none-any.whl","url":"x","hashes":{},"yanked":3}]}`)
		}
	}))
	t.Cleanup(srv.Close)
	c := &Client{Credentials: noCreds{}}
	for p, want := range map[string]string{
		"/plain":  `Content-Type "text/plain"`,
		"/v2":     "API version 2.0 is not supported",
		"/v2html": "API version 2.1 is not supported",
		"/local":  "file:///etc/passwd is not an http(s) URL",
		"/bad":    "yanked is neither",
	} {
		_, err := c.Files(context.Background(), srv.URL+p+"/simple", "x")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", p, err, want)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:s3cret@example.com/simple":   "https://example.com/simple",
		"https://token@example.com/simple/":        "https://example.com/simple/",
		"https://example.com/simple":               "https://example.com/simple",
		"https://us%zz:s3cret@example.com/x":       "https://example.com/x",
		"http://a:b@c@host:8080/p?q=1":             "http://host:8080/p?q=1",
		"/local/dir":                               "/local/dir",
		"https://user:pa ss@exa mple.com:x/simple": "https://exa mple.com:x/simple",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFilesPageURL(t *testing.T) {
	// The page is <root>/<normalized>/ whether the root ends in "/" or has a query.
	rec := &recorder{}
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	c := &Client{HTTP: &http.Client{Transport: rec}, Credentials: noCreds{}}
	for _, root := range []string{srv.URL + "/pypi/simple", srv.URL + "/pypi/simple/", srv.URL + "/pypi/simple?x=1"} {
		if _, err := c.Files(context.Background(), root, "Zope.Interface"); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, r := range rec.requests() {
		got = append(got, r.URL.RequestURI())
	}
	sort.Strings(got)
	want := []string{"/pypi/simple/zope-interface/", "/pypi/simple/zope-interface/", "/pypi/simple/zope-interface/"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("requested %v", got)
	}
}
