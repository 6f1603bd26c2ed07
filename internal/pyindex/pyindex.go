// Package pyindex reads Python package indexes (the simple repository API:
// PEP 691 JSON, PEP 503 HTML) and find-links wheelhouses, to find the files
// of the name==version pins of a hashed requirements file, and
// authenticates the requests (and the downloads that follow) with
// credentials from netrc, KILN_INDEX_* variables or the index URL.
// Credentials go only to the host they were given for and never into a
// message.
package pyindex

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kiln-build/kiln/internal/pyname"
)

// File is one distribution file an index or find-links location offers.
type File struct {
	Filename string
	URL      string            // absolute: http(s) from an index, file:// from a directory
	Hashes   map[string]string // algorithm -> lower-case hex; PEP 691 "hashes" or the #sha256= fragment
	Size     int64             // 0 when unknown

	RequiresPython string
	Yanked         bool
	YankedReason   string
}

// Client reads indexes. The zero value is ready to use.
type Client struct {
	// HTTP makes the requests; nil means a client with timeouts suited to
	// index pages. Its Transport is wrapped to add credentials.
	HTTP *http.Client
	// Credentials answers for hosts; nil means FromEnvironment(), read on
	// first use.
	Credentials Credentials
	// Retries is how many times a request is retried after a 5xx or 429
	// answer or a broken connection; 0 means 3.
	Retries int
	// Backoff is the first retry delay, doubled for each retry; 0 means
	// 500ms.
	Backoff time.Duration

	envOnce sync.Once
	env     Credentials
	envErr  error

	mu       sync.Mutex
	embedded map[string]userPass // realm -> user:password seen in an index or find-links URL
}

type userPass struct{ user, pass string }

// String keeps the credentials the client holds out of %v.
func (c *Client) String() string { return "pyindex.Client" }

// GoString keeps the credentials the client holds out of %#v.
func (c *Client) GoString() string { return c.String() }

// Transport returns a RoundTripper that adds basic auth to each request
// from the credentials that belong to its host: user:password given in an
// index or find-links URL this client was asked about (for that scheme,
// host and port), else c.Credentials. A request that already carries an
// Authorization header or user info is sent as it is. It wraps c.HTTP's
// transport, or one with dial, TLS and response-header timeouts.
func (c *Client) Transport() http.RoundTripper {
	base := defaultHTTP.Transport
	if c.HTTP != nil && c.HTTP.Transport != nil {
		base = c.HTTP.Transport
	}
	return &transport{c: c, base: base}
}

func (c *Client) credentialsFor(u *url.URL) (string, string, bool, error) {
	c.mu.Lock()
	up, ok := c.embedded[realm(u)]
	c.mu.Unlock()
	if ok {
		return up.user, up.pass, true, nil
	}
	creds := c.Credentials
	if creds == nil {
		c.envOnce.Do(func() { c.env, c.envErr = FromEnvironment() })
		if c.envErr != nil {
			return "", "", false, c.envErr
		}
		creds = c.env
	}
	user, pass, ok := creds.For(u)
	return user, pass, ok, nil
}

// location parses an index or find-links URL, remembers the user info it
// carries for its realm and returns it without.
func (c *Client) location(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s is not an http(s) URL", Redact(raw))
	}
	if u.User != nil {
		pass, _ := u.User.Password()
		c.mu.Lock()
		if c.embedded == nil {
			c.embedded = map[string]userPass{}
		}
		c.embedded[realm(u)] = userPass{u.User.Username(), pass}
		c.mu.Unlock()
		u.User = nil
	}
	return u, nil
}

var defaultHTTP = &http.Client{
	Timeout: 2 * time.Minute,
	Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   8,
	},
}

func (c *Client) httpClient() *http.Client {
	hc := *defaultHTTP
	if c.HTTP != nil {
		hc = *c.HTTP
	}
	if hc.Transport == nil {
		hc.Transport = defaultHTTP.Transport
	}
	hc.Transport = &transport{c: c, base: hc.Transport}
	return &hc
}

const (
	mediaJSON     = "application/vnd.pypi.simple.v1+json"
	mediaHTML     = "application/vnd.pypi.simple.v1+html"
	mediaTextHTML = "text/html"
	// acceptSimple is what pip sends: JSON preferred, HTML as a fallback.
	acceptSimple = mediaJSON + ", " + mediaHTML + "; q=0.1, " + mediaTextHTML + "; q=0.01"
	// maxPage bounds an index page held in memory; PyPI's largest project
	// pages are tens of megabytes.
	maxPage = 256 << 20
)

// projectName is PEP 508's name; it also keeps "/" and ".." out of the URL.
var projectName = regexp.MustCompile(`^(?i:[a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9])$`)

// Files lists the files of project on the index whose root is indexURL
// (…/simple). It asks for PEP 691 JSON and takes PEP 503 HTML when that is
// what the index answers, at /<root>/<normalized name>/, with relative
// URLs resolved against the page. A project the index does not have (404)
// has no files; that is not an error.
func (c *Client) Files(ctx context.Context, indexURL, project string) ([]File, error) {
	if !projectName.MatchString(project) {
		return nil, fmt.Errorf("%q is not a valid project name", project)
	}
	root, err := c.location(indexURL)
	if err != nil {
		return nil, fmt.Errorf("index %w", err)
	}
	page := *root
	page.Path = strings.TrimSuffix(root.Path, "/") + "/" + pyname.Normalize(project) + "/"
	page.RawPath, page.RawQuery, page.Fragment = "", "", ""
	files, err := c.page(ctx, &page, true)
	if err != nil {
		return nil, fmt.Errorf("index %s: project %s: %w", Redact(indexURL), project, err)
	}
	return files, nil
}

// FindLinks lists the wheels at a find-links location: a local directory
// (a path or file:// URL; a relative path is taken as the OS resolves it,
// so callers resolve it against the file that named it first), whose
// wheels are hashed here, or an http(s) page of links, whose hashes come
// from #sha256= fragments (a link without one is listed without a hash,
// which Pick never matches).
func (c *Client) FindLinks(ctx context.Context, location string) ([]File, error) {
	if strings.HasPrefix(location, "http://") || strings.HasPrefix(location, "https://") {
		u, err := c.location(location)
		if err != nil {
			return nil, err
		}
		files, err := c.page(ctx, u, false)
		if err != nil {
			return nil, fmt.Errorf("find-links %s: %w", Redact(location), err)
		}
		var wheels []File
		for _, f := range files {
			if strings.HasSuffix(f.Filename, ".whl") {
				wheels = append(wheels, f)
			}
		}
		return wheels, nil
	}
	dir := location
	if u, err := url.Parse(location); err == nil && u.Scheme == "file" {
		dir = u.Path
	} else if strings.Contains(location, "://") {
		return nil, fmt.Errorf("find-links %s: unsupported location (a directory or an http(s) URL)", Redact(location))
	}
	return wheelDir(ctx, dir)
}

func wheelDir(ctx context.Context, dir string) ([]File, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("find-links %s: %w", dir, err)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil, fmt.Errorf("find-links: %w", err)
	}
	var files []File
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".whl") {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p := filepath.Join(abs, e.Name())
		sum, size, err := hashFile(p)
		if err != nil {
			return nil, fmt.Errorf("find-links: %w", err)
		}
		if sum == "" {
			continue // a directory or other non-file named *.whl
		}
		files = append(files, File{
			Filename: e.Name(),
			URL:      (&url.URL{Scheme: "file", Path: filepath.ToSlash(p)}).String(),
			Hashes:   map[string]string{"sha256": sum},
			Size:     size,
		})
	}
	return files, nil
}

// hashFile returns the sha256 and size of the regular file at p (following
// symlinks), or "" when p is not a regular file.
func hashFile(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", 0, err
	}
	if !fi.Mode().IsRegular() {
		return "", 0, nil
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// page fetches and parses a project page or find-links page. For a
// project page (simple is true) 404 means no files.
func (c *Client) page(ctx context.Context, u *url.URL, simple bool) ([]File, error) {
	resp, err := c.get(ctx, u)
	if err != nil {
		return nil, err
	}
	if resp.status == http.StatusNotFound && simple {
		return nil, nil
	}
	if resp.status != http.StatusOK {
		return nil, resp.statusError(u)
	}
	mt, _, err := mime.ParseMediaType(resp.contentType)
	if err != nil && resp.contentType != "" {
		return nil, fmt.Errorf("GET %s: Content-Type %q: %w", u, resp.contentType, err)
	}
	switch strings.ToLower(mt) {
	case mediaJSON:
		return parseJSON(resp.body, resp.url)
	case mediaHTML, mediaTextHTML:
		return parseHTML(resp.body, resp.url)
	case "":
		if !simple {
			// Plain web servers may not label a directory listing.
			return parseHTML(resp.body, resp.url)
		}
	}
	return nil, fmt.Errorf("GET %s: Content-Type %q is not a simple repository page (%s or HTML)", u, resp.contentType, mediaJSON)
}

type response struct {
	status      int
	statusText  string
	contentType string
	body        []byte
	url         *url.URL // after redirects: relative links resolve against it
	sentAuth    bool
}

func (r *response) statusError(u *url.URL) error {
	err := fmt.Errorf("GET %s: %s", u, r.statusText)
	if r.url.String() != u.String() {
		err = fmt.Errorf("GET %s (redirected to %s): %s", u, Redact(r.url.String()), r.statusText)
	}
	if r.status != http.StatusUnauthorized && r.status != http.StatusForbidden {
		return err
	}
	if r.sentAuth {
		return fmt.Errorf("%w (the credentials for %s were refused)", err, r.url.Host)
	}
	return fmt.Errorf("%w (no credentials for %s: add it to ~/.netrc or set %s<NAME>_URL, _USERNAME and _PASSWORD)", err, r.url.Host, envPrefix)
}

// get fetches u, retrying on 5xx and 429 answers and broken connections.
// Answers other than 200 are returned, not errors, for the caller to judge.
func (c *Client) get(ctx context.Context, u *url.URL) (*response, error) {
	retries, backoff := c.Retries, c.Backoff
	if retries <= 0 {
		retries = 3
	}
	if backoff <= 0 {
		backoff = 500 * time.Millisecond
	}
	hc := c.httpClient()
	for attempt := 0; ; attempt++ {
		resp, err := c.getOnce(ctx, hc, u)
		var transient bool
		switch {
		case err != nil:
			transient = isTransient(err)
		case resp.status >= 500 || resp.status == http.StatusTooManyRequests:
			transient = true
			err = fmt.Errorf("GET %s: %s", u, resp.statusText)
		}
		if !transient {
			return resp, err
		}
		if attempt >= retries {
			return nil, fmt.Errorf("%w (after %d attempts)", err, attempt+1)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(backoff << attempt):
		}
	}
}

func (c *Client) getOnce(ctx context.Context, hc *http.Client, u *url.URL) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", acceptSimple)
	// As pip does: an intermediate cache must not answer with a stale page.
	req.Header.Set("Cache-Control", "max-age=0")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err // *url.Error naming u, which carries no user info
	}
	defer resp.Body.Close()
	r := &response{
		status:      resp.StatusCode,
		statusText:  resp.Status,
		contentType: resp.Header.Get("Content-Type"),
		url:         resp.Request.URL,
		sentAuth:    resp.Request.Header.Get("Authorization") != "",
	}
	if r.status != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return r, nil
	}
	r.body, err = io.ReadAll(io.LimitReader(resp.Body, maxPage+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if len(r.body) > maxPage {
		return nil, fmt.Errorf("GET %s: page larger than %d MiB", u, maxPage>>20)
	}
	return r, nil
}

// isTransient reports whether a request failed in a way a retry may mend:
// a timeout or a connection the server dropped.
func isTransient(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}
