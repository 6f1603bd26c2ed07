package pyindex

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// checkAPIVersion refuses a page of a later major version of the API
// (PEP 629); later minor versions only add what can be ignored.
func checkAPIVersion(v string) error {
	if v == "" {
		return nil
	}
	major, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(major)
	if err != nil {
		return fmt.Errorf("repository API version %q is not MAJOR.MINOR", v)
	}
	if n != 1 {
		return fmt.Errorf("repository API version %s is not supported (only 1.x)", v)
	}
	return nil
}

// parseJSON decodes a PEP 691 project page fetched from page.
func parseJSON(data []byte, page *url.URL) ([]File, error) {
	var doc struct {
		Meta struct {
			APIVersion string `json:"api-version"`
		} `json:"meta"`
		Files []struct {
			Filename       string            `json:"filename"`
			URL            string            `json:"url"`
			Hashes         map[string]string `json:"hashes"`
			RequiresPython string            `json:"requires-python"`
			Size           int64             `json:"size"`
			Yanked         json.RawMessage   `json:"yanked"`
		} `json:"files"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: JSON: %w", page, err)
	}
	if err := checkAPIVersion(doc.Meta.APIVersion); err != nil {
		return nil, fmt.Errorf("%s: %w", page, err)
	}
	files := make([]File, 0, len(doc.Files))
	for i, jf := range doc.Files {
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%s: file %d (%q): %s", page, i, jf.Filename, fmt.Sprintf(format, args...))
		}
		if !validFilename(jf.Filename) {
			return nil, bad("not a file name")
		}
		u, err := resolve(page, jf.URL)
		if err != nil {
			return nil, bad("url: %v", err)
		}
		if jf.Size < 0 {
			return nil, bad("negative size")
		}
		f := File{Filename: jf.Filename, URL: u, Size: jf.Size, RequiresPython: jf.RequiresPython}
		for algo, hexSum := range jf.Hashes {
			if f.Hashes == nil {
				f.Hashes = map[string]string{}
			}
			f.Hashes[strings.ToLower(algo)] = strings.ToLower(hexSum)
		}
		// PEP 592 / 691: false or absent, true, or a reason string.
		switch y := bytes.TrimSpace(jf.Yanked); {
		case len(y) == 0, string(y) == "null", string(y) == "false":
		case string(y) == "true":
			f.Yanked = true
		default:
			if err := json.Unmarshal(y, &f.YankedReason); err != nil {
				return nil, bad("yanked is neither a boolean nor a string")
			}
			f.Yanked = true
		}
		files = append(files, f)
	}
	return files, nil
}

func validFilename(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\\\x00")
}

// resolve makes href absolute against page and checks that it names an
// http(s) resource: an index must not point kiln at local files.
func resolve(page *url.URL, href string) (string, error) {
	if strings.TrimSpace(href) == "" {
		return "", fmt.Errorf("empty")
	}
	ref, err := url.Parse(strings.TrimSpace(href))
	if err != nil {
		return "", fmt.Errorf("%q does not parse", Redact(href))
	}
	u := page.ResolveReference(ref)
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%s is not an http(s) URL", Redact(u.String()))
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String(), nil
}

// hashAlgos are the fragment names pip accepts as a file hash.
var hashAlgos = map[string]bool{"md5": true, "sha1": true, "sha224": true, "sha256": true, "sha384": true, "sha512": true}

// parseHTML reads a PEP 503 project page (or a find-links page) fetched
// from page: every <a href> is a file named by the last segment of its URL,
// its hash in a #algo=hex fragment, with data-requires-python and
// data-yanked; <base href> moves the base of relative links, and a
// pypi:repository-version <meta> is checked. Links that are not http(s)
// files are skipped, as pip does.
func parseHTML(data []byte, page *url.URL) ([]File, error) {
	base := page
	baseSet := false
	var files []File
	var err error
	scanTags(data, func(name string, attrs map[string]string) bool {
		switch name {
		case "base":
			href, ok := attrs["href"]
			if !ok || baseSet {
				return true
			}
			baseSet = true
			if ref, perr := url.Parse(strings.TrimSpace(href)); perr == nil {
				base = page.ResolveReference(ref)
			}
		case "meta":
			if attrs["name"] == "pypi:repository-version" {
				if err = checkAPIVersion(strings.TrimSpace(attrs["content"])); err != nil {
					err = fmt.Errorf("%s: %w", page, err)
					return false
				}
			}
		case "a":
			if f, ok := htmlFile(base, attrs); ok {
				files = append(files, f)
			}
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}

func htmlFile(base *url.URL, attrs map[string]string) (File, bool) {
	href, ok := attrs["href"]
	if !ok {
		return File{}, false
	}
	ref, err := url.Parse(strings.TrimSpace(href))
	if err != nil {
		return File{}, false
	}
	u := base.ResolveReference(ref)
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.HasSuffix(u.Path, "/") {
		return File{}, false
	}
	// The last segment as sent, so that an escaped "/" cannot hide in it.
	name, err := url.PathUnescape(path.Base(u.EscapedPath()))
	if err != nil || !validFilename(name) {
		return File{}, false
	}
	f := File{Filename: name, RequiresPython: attrs["data-requires-python"]}
	if algo, sum, ok := strings.Cut(u.Fragment, "="); ok && hashAlgos[strings.ToLower(algo)] && sum != "" {
		f.Hashes = map[string]string{strings.ToLower(algo): strings.ToLower(sum)}
	}
	if reason, ok := attrs["data-yanked"]; ok {
		f.Yanked, f.YankedReason = true, reason
	}
	u.Fragment, u.RawFragment = "", ""
	f.URL = u.String()
	return f, true
}

// scanTags calls fn with each start tag of an HTML document, its name and
// attributes lower-cased, values unescaped (the first of a repeated
// attribute wins, as in HTML5), until fn returns false. Comments are
// skipped. It is a tolerant tokenizer, enough for index pages, not a full
// HTML5 parser.
func scanTags(s []byte, fn func(name string, attrs map[string]string) bool) {
	i := 0
	for {
		j := bytes.IndexByte(s[i:], '<')
		if j < 0 {
			return
		}
		i += j + 1
		if bytes.HasPrefix(s[i:], []byte("!--")) {
			end := bytes.Index(s[i+3:], []byte("-->"))
			if end < 0 {
				return
			}
			i += 3 + end + 3
			continue
		}
		n := 0
		for i+n < len(s) && isTagNameByte(s[i+n], n == 0) {
			n++
		}
		if n == 0 {
			continue // an end tag, doctype or stray "<"
		}
		name := strings.ToLower(string(s[i : i+n]))
		attrs, next, ok := scanAttrs(s, i+n)
		if !ok {
			return // EOF inside a tag, which HTML5 drops
		}
		i = next
		if !fn(name, attrs) {
			return
		}
	}
}

func isTagNameByte(c byte, first bool) bool {
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' {
		return true
	}
	return !first && ('0' <= c && c <= '9' || c == '-' || c == ':')
}

func isHTMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// scanAttrs reads attributes from s[i:] up to the end of the tag and
// returns them with the index after the tag; ok is false when the tag
// does not end.
func scanAttrs(s []byte, i int) (attrs map[string]string, next int, ok bool) {
	attrs = map[string]string{}
	for i < len(s) {
		c := s[i]
		switch {
		case c == '>':
			return attrs, i + 1, true
		case isHTMLSpace(c) || c == '/':
			i++
			continue
		}
		start := i
		i++ // the first byte belongs to the name, even "=" (HTML5)
		for i < len(s) && !isHTMLSpace(s[i]) && s[i] != '/' && s[i] != '>' && s[i] != '=' {
			i++
		}
		name := strings.ToLower(string(s[start:i]))
		for i < len(s) && isHTMLSpace(s[i]) {
			i++
		}
		value := ""
		if i < len(s) && s[i] == '=' {
			i++
			for i < len(s) && isHTMLSpace(s[i]) {
				i++
			}
			if i < len(s) && (s[i] == '"' || s[i] == '\'') {
				q := s[i]
				end := bytes.IndexByte(s[i+1:], q)
				if end < 0 {
					return nil, len(s), false
				}
				value = string(s[i+1 : i+1+end])
				i += end + 2
			} else {
				vs := i
				for i < len(s) && !isHTMLSpace(s[i]) && s[i] != '>' {
					i++
				}
				value = string(s[vs:i])
			}
		}
		if _, dup := attrs[name]; !dup {
			attrs[name] = html.UnescapeString(value)
		}
	}
	return nil, len(s), false
}
