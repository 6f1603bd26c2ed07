// Package fetch downloads artifacts into the content-addressed cache,
// checking each one against the sha256 its lock gives before anything uses it.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/kiln-build/kiln/internal/cache"
)

// Artifact is one file to fetch.
type Artifact struct {
	Name   string // for messages: the wheel or package file name
	URL    string // http(s)://, file://, or a path (relative paths resolve against BaseDir)
	Sha256 string // hex; required
	Size   int64  // expected size, 0 when unknown
}

// Fetcher fetches artifacts into a cache.
type Fetcher struct {
	Cache    *cache.Cache
	Client   *http.Client
	BaseDir  string        // directory relative paths are resolved against (the lock's directory)
	Parallel int           // downloads at once; 0 means 8
	Retries  int           // attempts after the first on 5xx and connection errors; 0 means 3
	Backoff  time.Duration // first retry delay, doubled each time; 0 means 500ms
	// Progress, when set, is called after each artifact is ready.
	Progress func(a Artifact, cached bool, bytes int64)
}

// New returns a Fetcher with timeouts suited to package downloads.
func New(c *cache.Cache, baseDir string) *Fetcher {
	return &Fetcher{
		Cache:   c,
		BaseDir: baseDir,
		Client: &http.Client{
			Timeout: 10 * time.Minute,
			Transport: &http.Transport{
				Proxy:                 http.ProxyFromEnvironment,
				DialContext:           (&net.Dialer{Timeout: 30 * time.Second}).DialContext,
				TLSHandshakeTimeout:   30 * time.Second,
				ResponseHeaderTimeout: 60 * time.Second,
				MaxIdleConnsPerHost:   8,
			},
		},
	}
}

// All fetches every artifact, in parallel, and returns on the first error.
func (f *Fetcher) All(ctx context.Context, arts []Artifact) error {
	g, ctx := errgroup.WithContext(ctx)
	n := f.Parallel
	if n <= 0 {
		n = 8
	}
	g.SetLimit(n)
	seen := map[string]bool{}
	for _, a := range arts {
		if seen[a.Sha256] {
			continue
		}
		seen[a.Sha256] = true
		g.Go(func() error { return f.One(ctx, a) })
	}
	return g.Wait()
}

// One makes sure the artifact is in the cache, downloading it if needed.
func (f *Fetcher) One(ctx context.Context, a Artifact) error {
	want := strings.ToLower(strings.TrimPrefix(a.Sha256, "sha256:"))
	if want == "" {
		return fmt.Errorf("%s: no sha256 given; kiln installs only hash-checked artifacts", a.Name)
	}
	if f.Cache.Has(want) {
		if f.Progress != nil {
			f.Progress(a, true, 0)
		}
		return nil
	}
	retries, backoff := f.Retries, f.Backoff
	if retries <= 0 {
		retries = 3
	}
	if backoff <= 0 {
		backoff = 500 * time.Millisecond
	}
	var n int64
	var err error
	for attempt := 0; ; attempt++ {
		n, err = f.download(ctx, a, want)
		if err == nil || !retryable(err) || attempt >= retries {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff << attempt):
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", a.Name, err)
	}
	if f.Progress != nil {
		f.Progress(a, false, n)
	}
	return nil
}

// transientError marks failures worth retrying: 5xx answers and broken connections.
type transientError struct{ err error }

func (e transientError) Error() string { return e.err.Error() }
func (e transientError) Unwrap() error { return e.err }

func retryable(err error) bool {
	var t transientError
	return errors.As(err, &t)
}

func (f *Fetcher) download(ctx context.Context, a Artifact, want string) (int64, error) {
	r, err := f.open(ctx, a.URL)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	src := io.Reader(r)
	if a.Size > 0 {
		// One byte more than expected is enough to tell that the size is wrong.
		src = io.LimitReader(r, a.Size+1)
	}
	_, n, err := f.Cache.Put(src, want)
	if err != nil {
		if errors.Is(err, cache.ErrMismatch) {
			return 0, fmt.Errorf("from %s: hash mismatch: %w", redact(a.URL), err)
		}
		if isConnErr(err) {
			return 0, transientError{fmt.Errorf("from %s: %w", redact(a.URL), err)}
		}
		return 0, fmt.Errorf("from %s: %w", redact(a.URL), err)
	}
	if a.Size > 0 && n != a.Size {
		return 0, fmt.Errorf("from %s: size %d, the lock says %d", redact(a.URL), n, a.Size)
	}
	return n, nil
}

func (f *Fetcher) open(ctx context.Context, raw string) (io.ReadCloser, error) {
	u, err := url.Parse(raw)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
		if err != nil {
			return nil, err
		}
		resp, err := f.Client.Do(req)
		if err != nil {
			return nil, transientError{fmt.Errorf("GET %s: %w", redact(raw), err)}
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			err := fmt.Errorf("GET %s: %s", redact(raw), resp.Status)
			if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
				return nil, transientError{err}
			}
			return nil, err
		}
		return resp.Body, nil
	}
	p := raw
	if err == nil && u.Scheme == "file" {
		p = u.Path
	} else if err == nil && u.Scheme != "" && len(u.Scheme) > 1 {
		return nil, fmt.Errorf("unsupported URL scheme %q in %s", u.Scheme, redact(raw))
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(f.BaseDir, p)
	}
	return os.Open(p)
}

func isConnErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF)
}

// redact drops user info from a URL so credentials never reach a message.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}
