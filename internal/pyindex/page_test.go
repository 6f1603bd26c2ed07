package pyindex

import (
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

var pageURL = &url.URL{Scheme: "https", Host: "example.com", Path: "/simple/holygrail/"}

func TestParseHTML(t *testing.T) {
	files, err := parseHTML(readTestdata(t, "project.html"), pageURL)
	if err != nil {
		t.Fatal(err)
	}
	want := []File{
		{Filename: "holygrail-1.0-py3-none-any.whl", URL: "https://files.example.com/packages/ab/holygrail-1.0-py3-none-any.whl",
			Hashes: map[string]string{"sha256": "deadbeef"}, RequiresPython: ">=3.7"},
		{Filename: "holygrail-1.0.tar.gz", URL: "https://files.example.com/abs/holygrail-1.0.tar.gz",
			Hashes: map[string]string{"md5": "ab"}, Yanked: true},
		{Filename: "holygrail-2.0+local-py3-none-any.whl", URL: "https://other.example.org/holygrail-2.0%2Blocal-py3-none-any.whl",
			Yanked: true, YankedReason: "bad & sad"},
		{Filename: "holygrail-1.1-py3-none-any.whl", URL: "https://files.example.com/packages/ab/holygrail-1.1-py3-none-any.whl"},
	}
	if !reflect.DeepEqual(files, want) {
		t.Errorf("got\n%+v\nwant\n%+v", files, want)
	}
}

func TestParseHTMLTolerance(t *testing.T) {
	for _, tc := range []struct {
		page string
		want []string // file names
	}{
		{`<a href="x-1-py3-none-any.whl">`, []string{"x-1-py3-none-any.whl"}},
		{`<a href="x-1-py3-none-any.whl"`, nil},              // the tag never ends
		{`<a href="x-1-py3-none-any.whl>y</a>`, nil},         // nor the quote
		{`<!-- <a href="x.whl"> -- > <a href="y.whl">`, nil}, // still inside the comment
		{`<!-- c --><a href="y.whl">`, []string{"y.whl"}},    // after it
		{`< a href="x.whl"><abbr href="z.whl"><a/href=w.whl>`, []string{"w.whl"}},
		{`<a = href=x.whl>`, []string{"x.whl"}},
		{`<a href = 'q.whl' data-yanked>`, []string{"q.whl"}},
		{`<a href="dir/">`, nil},
		{`<a href="%zz.whl"><a href="../..">`, nil},
		{`<a href="/../%2F.whl"><a href="a%2Fb.whl">`, nil},
		{`<a href="http://[::1]:x/a.whl">`, nil},
	} {
		files, err := parseHTML([]byte(tc.page), pageURL)
		if err != nil {
			t.Errorf("%s: %v", tc.page, err)
			continue
		}
		var got []string
		for _, f := range files {
			got = append(got, f.Filename)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: files %v, want %v", tc.page, got, tc.want)
		}
	}
}

func TestParseJSON(t *testing.T) {
	files, err := parseJSON(readTestdata(t, "project.json"), pageURL)
	if err != nil {
		t.Fatal(err)
	}
	want := []File{
		{Filename: "holygrail-1.0-py3-none-any.whl", URL: "https://example.com/files/holygrail-1.0-py3-none-any.whl",
			Hashes: map[string]string{"sha256": "abcd", "blake2b": "ef01"}, Size: 1337, RequiresPython: ">=3.7"},
		{Filename: "holygrail-1.0.tar.gz", URL: "https://example.com/packages/holygrail-1.0.tar.gz", Size: 7,
			Yanked: true, YankedReason: "not this one"},
	}
	if !reflect.DeepEqual(files, want) {
		t.Errorf("got\n%+v\nwant\n%+v", files, want)
	}
}

func TestParseJSONErrors(t *testing.T) {
	for doc, want := range map[string]string{
		`{"files": [`:                           "JSON",
		`[]`:                                    "JSON",
		`{"meta":{"api-version":"x"}}`:          `"x" is not MAJOR.MINOR`,
		`{"files":[{"filename":"","url":"a"}]}`: "not a file name",
		`{"files":[{"filename":"../a.whl","url":"a"}]}`:          "not a file name",
		`{"files":[{"filename":"a.whl","url":""}]}`:              "url: empty",
		`{"files":[{"filename":"a.whl","url":"%zz"}]}`:           "does not parse",
		`{"files":[{"filename":"a.whl","url":"a","size":-1}]}`:   "negative size",
		`{"files":[{"filename":"a.whl","url":"a","size":"1"}]}`:  "JSON",
		`{"files":[{"filename":"a.whl","url":"a","yanked":{}}]}`: "yanked is neither",
		`{"files":[{"filename":"a.whl","url":"a","hashes":[]}]}`: "JSON",
	} {
		_, err := parseJSON([]byte(doc), pageURL)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", doc, err, want)
		}
	}
}

func FuzzParseHTML(f *testing.F) {
	f.Add(readTestdata(f, "project.html"))
	f.Add([]byte(yankedHTML))
	f.Add([]byte(`<a href='x' data-yanked=a&amp;b><base href=//h/><meta name=pypi:repository-version content=2>`))
	f.Add([]byte(`<!--`))
	f.Fuzz(func(t *testing.T, data []byte) {
		files, err := parseHTML(data, pageURL)
		if err != nil {
			return
		}
		for _, file := range files {
			u, perr := url.Parse(file.URL)
			if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Fragment != "" {
				t.Errorf("file %+v: URL is not an absolute http(s) URL without fragment", file)
			}
			if !validFilename(file.Filename) {
				t.Errorf("file name %q", file.Filename)
			}
		}
	})
}

func FuzzParseJSON(f *testing.F) {
	f.Add(readTestdata(f, "project.json"))
	f.Add([]byte(yankedJSON))
	f.Add([]byte(`{"files":[{"filename":"a.whl","url":"//h/a","yanked":"r","hashes":{"SHA256":"AB"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		files, err := parseJSON(data, pageURL)
		if err != nil {
			return
		}
		for _, file := range files {
			u, perr := url.Parse(file.URL)
			if perr != nil || (u.Scheme != "http" && u.Scheme != "https") {
				t.Errorf("file %+v: URL is not absolute http(s)", file)
			}
			if !validFilename(file.Filename) || file.Size < 0 {
				t.Errorf("file %+v", file)
			}
		}
	})
}
