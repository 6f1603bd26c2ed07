// Package testindex serves a directory of wheels as a Python package index
// for kiln's tests: the PEP 503 HTML and PEP 691 JSON forms of the simple
// repository API under /simple/, the files under /files/, optionally behind
// HTTP basic auth. WriteUVLock writes a uv.lock that points at such an
// index, as `uv lock` would have.
package testindex

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kiln-build/kiln/internal/pyname"
)

// UploadTime is the upload time the index reports for every file (PEP 700)
// and WriteUVLock records: the files have no real one, and a constant keeps
// locks reproducible.
var UploadTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	mediaJSON     = "application/vnd.pypi.simple.v1+json"
	mediaHTML     = "application/vnd.pypi.simple.v1+html"
	mediaTextHTML = "text/html"
	apiVersion    = "1.1"
)

// Option configures a Server.
type Option func(*handler)

// WithBasicAuth makes every request require HTTP basic auth with user and
// password; others get 401.
func WithBasicAuth(user, password string) Option {
	return func(h *handler) { h.user, h.password = user, password }
}

// Server is a running index.
type Server struct {
	srv *httptest.Server
	h   *handler
}

// Start serves the wheels in dir on 127.0.0.1 until the test ends. The
// list of files and their hashes is taken once, at start; the bytes are
// read on each request, so a test can corrupt a file after Start to check
// that a client verifies hashes.
func Start(t testing.TB, dir string, opts ...Option) *Server {
	t.Helper()
	h, err := newHandler(dir, opts...)
	if err != nil {
		t.Fatalf("testindex: %v", err)
	}
	s := &Server{srv: httptest.NewServer(h), h: h}
	t.Cleanup(s.Close)
	return s
}

// URL is the index URL, as given to uv (--index-url) or pip:
// http://127.0.0.1:PORT/simple, without a trailing slash as uv records it.
func (s *Server) URL() string { return s.srv.URL + "/simple" }

// Close stops the server. It is safe to call more than once.
func (s *Server) Close() { s.srv.Close() }

// Downloads lists the files fetched from /files/ so far (GET requests that
// were answered with the file), in order; tests use it to show that a
// wheel was or was not installed.
func (s *Server) Downloads() []string {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	return append([]string(nil), s.h.downloads...)
}

// Serve serves the wheels in dir on addr (e.g. "127.0.0.1:3141") until
// the listener fails.
func Serve(addr, dir string, opts ...Option) error {
	h, err := newHandler(dir, opts...)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	return srv.ListenAndServe()
}

type project struct {
	name     string // normalized
	versions []string
	files    []wheelFile
}

type handler struct {
	projects map[string]*project
	names    []string
	files    map[string]wheelFile

	user, password string

	mu        sync.Mutex
	downloads []string
}

func newHandler(dir string, opts ...Option) (*handler, error) {
	wheels, err := scanWheels(dir)
	if err != nil {
		return nil, err
	}
	h := &handler{projects: map[string]*project{}, files: map[string]wheelFile{}}
	for _, o := range opts {
		o(h)
	}
	for _, w := range wheels {
		p := h.projects[w.project]
		if p == nil {
			p = &project{name: w.project}
			h.projects[w.project] = p
			h.names = append(h.names, w.project)
		}
		if !contains(p.versions, w.version) {
			p.versions = append(p.versions, w.version)
		}
		p.files = append(p.files, w)
		h.files[w.filename] = w
	}
	sort.Strings(h.names)
	return h, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.user != "" || h.password != "" {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(h.user)) != 1 ||
			subtle.ConstantTimeCompare([]byte(p), []byte(h.password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="kiln-testindex"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	switch {
	case p == "/simple":
		http.Redirect(w, r, "/simple/", http.StatusMovedPermanently)
	case p == "/simple/":
		h.serveList(w, r)
	case strings.HasPrefix(p, "/simple/"):
		name, rest, _ := strings.Cut(strings.TrimPrefix(p, "/simple/"), "/")
		switch {
		case rest != "":
			http.NotFound(w, r)
		case pyname.Normalize(name) != name || !strings.HasSuffix(p, "/"):
			// PEP 503: clients must use the normalized URL; redirect the rest.
			http.Redirect(w, r, "/simple/"+pyname.Normalize(name)+"/", http.StatusMovedPermanently)
		default:
			h.serveProject(w, r, name)
		}
	case strings.HasPrefix(p, "/files/"):
		h.serveFile(w, r, strings.TrimPrefix(p, "/files/"))
	default:
		http.NotFound(w, r)
	}
}

// negotiate picks the response type for an Accept header (PEP 691): the
// acceptable type with the highest q, ties going to JSON, then the HTML
// media type, then text/html. No header, "*/*" and "text/*" mean
// text/html. ok is false when nothing offered is acceptable.
func negotiate(accept string) (mediaType string, ok bool) {
	if strings.TrimSpace(accept) == "" {
		return mediaTextHTML, true
	}
	offers := []string{mediaJSON, mediaHTML, mediaTextHTML}
	best, bestQ := "", 0.0
	for _, offer := range offers {
		q := 0.0
		for _, part := range strings.Split(accept, ",") {
			typ, params, _ := strings.Cut(part, ";")
			typ = strings.ToLower(strings.TrimSpace(typ))
			pq := 1.0
			for _, param := range strings.Split(params, ";") {
				k, v, _ := strings.Cut(param, "=")
				if strings.TrimSpace(k) == "q" {
					f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
					if err != nil || f < 0 || f > 1 {
						f = 0
					}
					pq = f
				}
			}
			if matchesMedia(typ, offer) && pq > q {
				q = pq
			}
		}
		if q > bestQ {
			best, bestQ = offer, q
		}
	}
	return best, best != ""
}

func matchesMedia(pattern, offer string) bool {
	switch pattern {
	case offer:
		return true
	case "*/*":
		// A client that states no preference gets the classic form.
		return offer == mediaTextHTML
	case "application/vnd.pypi.simple.latest+json":
		return offer == mediaJSON
	case "application/vnd.pypi.simple.latest+html":
		return offer == mediaHTML
	case "text/*":
		return offer == mediaTextHTML
	}
	return false
}

func (h *handler) respond(w http.ResponseWriter, r *http.Request, jsonBody any, html *template.Template, data any) {
	w.Header().Set("Vary", "Accept")
	mt, ok := negotiate(r.Header.Get("Accept"))
	if !ok {
		http.Error(w, "acceptable: "+mediaJSON+", "+mediaHTML+", "+mediaTextHTML, http.StatusNotAcceptable)
		return
	}
	w.Header().Set("Content-Type", mt)
	if mt == mediaJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(jsonBody); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
		return
	}
	if err := html.Execute(w, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

var listHTML = template.Must(template.New("list").Parse(`<!DOCTYPE html>
<html>
  <head>
    <meta name="pypi:repository-version" content="` + apiVersion + `">
    <title>Simple index</title>
  </head>
  <body>
{{- range .}}
    <a href="{{.}}/">{{.}}</a><br/>
{{- end}}
  </body>
</html>
`))

func (h *handler) serveList(w http.ResponseWriter, r *http.Request) {
	type proj struct {
		Name string `json:"name"`
	}
	body := struct {
		Meta     map[string]string `json:"meta"`
		Projects []proj            `json:"projects"`
	}{Meta: map[string]string{"api-version": apiVersion}, Projects: []proj{}}
	for _, n := range h.names {
		body.Projects = append(body.Projects, proj{Name: n})
	}
	h.respond(w, r, body, listHTML, h.names)
}

var projectHTML = template.Must(template.New("project").Parse(`<!DOCTYPE html>
<html>
  <head>
    <meta name="pypi:repository-version" content="` + apiVersion + `">
    <title>Links for {{.Name}}</title>
  </head>
  <body>
    <h1>Links for {{.Name}}</h1>
{{- range .Files}}
    <a href="{{.URL}}#sha256={{.SHA256}}"{{if .RequiresPython}} data-requires-python="{{.RequiresPython}}"{{end}}>{{.Filename}}</a><br/>
{{- end}}
  </body>
</html>
`))

type jsonFile struct {
	Filename       string            `json:"filename"`
	URL            string            `json:"url"`
	Hashes         map[string]string `json:"hashes"`
	RequiresPython string            `json:"requires-python,omitempty"`
	Size           int64             `json:"size"`
	UploadTime     string            `json:"upload-time"`
	// Template-only fields.
	SHA256 string `json:"-"`
}

// fileURL is where a file is served, relative to a project page
// (/simple/<name>/), which PEP 503 and 691 allow; clients resolve it.
func fileURL(filename string) string {
	return "../../files/" + url.PathEscape(filename)
}

func (h *handler) serveProject(w http.ResponseWriter, r *http.Request, name string) {
	p, ok := h.projects[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	files := make([]jsonFile, 0, len(p.files))
	for _, f := range p.files {
		files = append(files, jsonFile{
			Filename:       f.filename,
			URL:            fileURL(f.filename),
			Hashes:         map[string]string{"sha256": f.sha256},
			RequiresPython: f.requiresPython,
			Size:           f.size,
			UploadTime:     UploadTime.Format("2006-01-02T15:04:05.000000Z"),
			SHA256:         f.sha256,
		})
	}
	body := struct {
		Meta     map[string]string `json:"meta"`
		Name     string            `json:"name"`
		Versions []string          `json:"versions"`
		Files    []jsonFile        `json:"files"`
	}{Meta: map[string]string{"api-version": apiVersion}, Name: p.name, Versions: p.versions, Files: files}
	h.respond(w, r, body, projectHTML, struct {
		Name  string
		Files []jsonFile
	}{p.name, files})
}

func (h *handler) serveFile(w http.ResponseWriter, r *http.Request, filename string) {
	f, ok := h.files[filename]
	if !ok {
		http.NotFound(w, r)
		return
	}
	file, err := os.Open(f.path)
	if errors.Is(err, os.ErrNotExist) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer file.Close()
	if r.Method == http.MethodGet {
		h.mu.Lock()
		h.downloads = append(h.downloads, filename)
		h.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("ETag", fmt.Sprintf("%q", f.sha256))
	http.ServeContent(w, r, filename, UploadTime, file)
}
