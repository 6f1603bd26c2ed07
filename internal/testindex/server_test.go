package testindex

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// makeWheel writes a minimal wheel (stored, fixed times, so its hash is
// stable) with the given METADATA.
func makeWheel(t testing.TB, dir, filename, metadata string) string {
	t.Helper()
	stem := strings.TrimSuffix(filename, ".whl")
	parts := strings.Split(stem, "-")
	distInfo := parts[0] + "-" + parts[1] + ".dist-info/"
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []struct{ name, body string }{
		{parts[0] + "/__init__.py", ""},
		{distInfo + "METADATA", metadata},
		{distInfo + "WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: " + strings.Join(parts[len(parts)-3:], "-") + "\n"},
		{distInfo + "RECORD", ""},
	} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Store, Modified: time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, f.body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, filename)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func meta(name, version string, extra ...string) string {
	s := "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n"
	for _, e := range extra {
		s += e + "\n"
	}
	return s + "\nDescription body: not a header\n"
}

// fixtureDir is a small wheelhouse: one project with two platform wheels,
// names that need normalizing, and a file that is not a wheel.
func fixtureDir(t testing.TB) string {
	dir := t.TempDir()
	makeWheel(t, dir, "alpha-1.0-py3-none-any.whl", meta("Alpha", "1.0", "Requires-Python: >=3.8", "Requires-Dist: Beta>=2.0",
		`Requires-Dist: gamma; sys_platform == "win32"`, `Requires-Dist: delta; extra == "fast"`, "Requires-Dist: not-in-wheelhouse", "Provides-Extra: fast"))
	makeWheel(t, dir, "beta-2.0-cp311-cp311-manylinux_2_36_aarch64.whl", meta("beta", "2.0"))
	makeWheel(t, dir, "beta-2.0-cp311-cp311-manylinux_2_36_x86_64.whl", meta("beta", "2.0"))
	makeWheel(t, dir, "gamma-0.1-py3-none-any.whl", meta("Gamma", "0.1"))
	makeWheel(t, dir, "zope_interface-6.0-py3-none-any.whl", meta("zope.interface", "6.0"))
	makeWheel(t, dir, "devtool-1.0-py3-none-any.whl", meta("devtool", "1.0"))
	makeWheel(t, dir, "unrelated-9.9-py3-none-any.whl", meta("unrelated", "9.9"))
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a wheel"), 0o644)
	return dir
}

func get(t *testing.T, u, accept string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	// Redirects are part of what is tested.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

const pipAccept = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"

func TestProjectListHTMLAndJSON(t *testing.T) {
	s := Start(t, fixtureDir(t))
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") || !strings.HasSuffix(s.URL(), "/simple") {
		t.Errorf("URL %s", s.URL())
	}
	resp, body := get(t, s.URL()+"/", "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{`<a href="alpha/">alpha</a>`, `<a href="zope-interface/">zope-interface</a>`, `<meta name="pypi:repository-version" content="1.1">`} {
		if !strings.Contains(body, want) {
			t.Errorf("list lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "notes") {
		t.Error("non-wheel file listed")
	}
	resp, body = get(t, s.URL()+"/", pipAccept)
	if resp.Header.Get("Content-Type") != mediaJSON {
		t.Fatalf("content type %s", resp.Header.Get("Content-Type"))
	}
	var list struct {
		Meta     map[string]string `json:"meta"`
		Projects []struct{ Name string }
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range list.Projects {
		names = append(names, p.Name)
	}
	want := []string{"alpha", "beta", "devtool", "gamma", "unrelated", "zope-interface"}
	if !reflect.DeepEqual(names, want) || list.Meta["api-version"] != "1.1" {
		t.Errorf("projects %q meta %v", names, list.Meta)
	}
}

func TestProjectPageJSON(t *testing.T) {
	dir := fixtureDir(t)
	s := Start(t, dir)
	pageURL := s.URL() + "/beta/"
	resp, body := get(t, pageURL, pipAccept)
	if resp.StatusCode != 200 || resp.Header.Get("Vary") != "Accept" {
		t.Fatalf("%d vary=%q", resp.StatusCode, resp.Header.Get("Vary"))
	}
	var page struct {
		Name     string
		Versions []string
		Files    []struct {
			Filename       string
			URL            string
			Hashes         map[string]string
			RequiresPython string `json:"requires-python"`
			Size           int64
			UploadTime     string `json:"upload-time"`
		}
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	if page.Name != "beta" || !reflect.DeepEqual(page.Versions, []string{"2.0"}) || len(page.Files) != 2 {
		t.Fatalf("page %+v", page)
	}
	for _, f := range page.Files {
		data, err := os.ReadFile(filepath.Join(dir, f.Filename))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if f.Hashes["sha256"] != hex.EncodeToString(sum[:]) || f.Size != int64(len(data)) || f.UploadTime != "2024-01-01T00:00:00.000000Z" {
			t.Errorf("%s: %+v", f.Filename, f)
		}
		// The URL is relative to the page; resolve it as a client must.
		base, _ := url.Parse(pageURL)
		ref, _ := url.Parse(f.URL)
		resp, got := get(t, base.ResolveReference(ref).String(), "")
		if resp.StatusCode != 200 || got != string(data) {
			t.Errorf("%s: GET %s: %d, %d bytes", f.Filename, f.URL, resp.StatusCode, len(got))
		}
	}
	if got := s.Downloads(); !reflect.DeepEqual(got, []string{page.Files[0].Filename, page.Files[1].Filename}) {
		t.Errorf("downloads %q", got)
	}
}

func TestProjectPageHTML(t *testing.T) {
	dir := fixtureDir(t)
	s := Start(t, dir)
	resp, body := get(t, s.URL()+"/alpha/", "text/html")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	data, _ := os.ReadFile(filepath.Join(dir, "alpha-1.0-py3-none-any.whl"))
	sum := sha256.Sum256(data)
	want := `<a href="../../files/alpha-1.0-py3-none-any.whl#sha256=` + hex.EncodeToString(sum[:]) +
		`" data-requires-python="&gt;=3.8">alpha-1.0-py3-none-any.whl</a>`
	if !strings.Contains(body, want) {
		t.Errorf("page lacks\n%s\n%s", want, body)
	}
	resp, _ = get(t, s.URL()+"/alpha/", mediaHTML)
	if resp.Header.Get("Content-Type") != mediaHTML {
		t.Errorf("content type %s", resp.Header.Get("Content-Type"))
	}
}

func TestRoutes(t *testing.T) {
	s := Start(t, fixtureDir(t))
	base := strings.TrimSuffix(s.URL(), "/simple")
	cases := []struct {
		path, accept string
		status       int
		location     string
	}{
		{"/simple", "", 301, "/simple/"},
		{"/simple/Zope.Interface/", "", 301, "/simple/zope-interface/"},
		{"/simple/zope-interface", "", 301, "/simple/zope-interface/"},
		{"/simple/zope-interface/", "", 200, ""},
		{"/simple/nope/", "", 404, ""},
		{"/simple/alpha/extra", "", 404, ""},
		{"/files/nope-1.0-py3-none-any.whl", "", 404, ""},
		{"/files/notes.txt", "", 404, ""},
		{"/files/../server.go", "", 404, ""},
		{"/elsewhere", "", 404, ""},
		{"/simple/", "application/json", 406, ""},
	}
	for _, c := range cases {
		resp, _ := get(t, base+c.path, c.accept)
		if resp.StatusCode != c.status || resp.Header.Get("Location") != c.location {
			t.Errorf("%s: %d %q, want %d %q", c.path, resp.StatusCode, resp.Header.Get("Location"), c.status, c.location)
		}
	}
	req, _ := http.NewRequest("POST", s.URL()+"/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("POST: %d", resp.StatusCode)
	}
}

func TestBasicAuth(t *testing.T) {
	s := Start(t, fixtureDir(t), WithBasicAuth("kiln", "s3cret"))
	resp, _ := get(t, s.URL()+"/", "")
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
		t.Fatalf("no credentials: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	u, _ := url.Parse(s.URL() + "/alpha/")
	for _, c := range []struct {
		user   *url.Userinfo
		status int
	}{
		{url.UserPassword("kiln", "wrong"), 401},
		{url.UserPassword("other", "s3cret"), 401},
		{url.UserPassword("kiln", "s3cret"), 200},
	} {
		u.User = c.user
		resp, _ := get(t, u.String(), "")
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d, want %d", c.user, resp.StatusCode, c.status)
		}
	}
	u.User = url.UserPassword("kiln", "s3cret")
	u.Path = "/files/alpha-1.0-py3-none-any.whl"
	if resp, _ := get(t, u.String(), ""); resp.StatusCode != 200 {
		t.Errorf("file with credentials: %d", resp.StatusCode)
	}
}

// A file changed after Start is served as it is now, so clients that check
// hashes against the index or the lock catch it.
func TestServesCurrentBytes(t *testing.T) {
	dir := fixtureDir(t)
	s := Start(t, dir)
	p := filepath.Join(dir, "gamma-0.1-py3-none-any.whl")
	if err := os.WriteFile(p, []byte("corrupt"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, body := get(t, strings.TrimSuffix(s.URL(), "/simple")+"/files/gamma-0.1-py3-none-any.whl", "")
	if body != "corrupt" {
		t.Errorf("served %q", body)
	}
}

func TestStartRejectsBadWheels(t *testing.T) {
	for name, write := range map[string]func(dir string){
		"bad name":      func(dir string) { makeWheel(t, dir, "alpha-1.0-py3-none.whl", meta("alpha", "1.0")) },
		"metadata name": func(dir string) { makeWheel(t, dir, "alpha-1.0-py3-none-any.whl", meta("beta", "1.0")) },
		"not a zip": func(dir string) {
			os.WriteFile(filepath.Join(dir, "alpha-1.0-py3-none-any.whl"), []byte("nope"), 0o644)
		},
	} {
		dir := t.TempDir()
		write(dir)
		if _, err := newHandler(dir); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestNegotiate(t *testing.T) {
	cases := []struct {
		accept, want string
		ok           bool
	}{
		{"", mediaTextHTML, true},
		{"*/*", mediaTextHTML, true},
		{"text/html", mediaTextHTML, true},
		{pipAccept, mediaJSON, true},
		{"application/vnd.pypi.simple.latest+json", mediaJSON, true},
		{"application/vnd.pypi.simple.latest+html", mediaHTML, true},
		{"application/vnd.pypi.simple.v1+json;q=0.1, text/html", mediaTextHTML, true},
		{"application/vnd.pypi.simple.v1+json;q=0, */*", mediaTextHTML, true},
		{"application/vnd.pypi.simple.v1+json;q=0", "", false},
		{"application/json", "", false},
		{"application/vnd.pypi.simple.v1+json;q=bogus, text/*;q=0.5", mediaTextHTML, true},
	}
	for _, c := range cases {
		got, ok := negotiate(c.accept)
		if got != c.want || ok != c.ok {
			t.Errorf("negotiate(%q) = %q %v, want %q %v", c.accept, got, ok, c.want, c.ok)
		}
	}
}

func FuzzNegotiate(f *testing.F) {
	f.Add(pipAccept)
	f.Add("text/*;q=0.5, */*;q=0.1")
	f.Fuzz(func(t *testing.T, accept string) {
		mt, ok := negotiate(accept)
		if ok != (mt != "") {
			t.Fatalf("ok=%v with %q", ok, mt)
		}
		if ok && mt != mediaJSON && mt != mediaHTML && mt != mediaTextHTML {
			t.Fatalf("offered %q", mt)
		}
	})
}
