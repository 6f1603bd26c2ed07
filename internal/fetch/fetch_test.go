package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kiln-build/kiln/internal/cache"
)

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func newFetcher(t *testing.T) *Fetcher {
	c, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := New(c, t.TempDir())
	f.Backoff = time.Millisecond
	return f
}

func TestFetchHTTPRetriesAndVerifies(t *testing.T) {
	body := []byte("wheel bytes")
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	f := newFetcher(t)
	a := Artifact{Name: "x-1.0-py3-none-any.whl", URL: srv.URL + "/x.whl", Sha256: sum(body), Size: int64(len(body))}
	if err := f.One(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 {
		t.Fatalf("%d requests, want 3 (two 503s then success)", calls.Load())
	}
	if !f.Cache.Has(sum(body)) {
		t.Fatal("not in cache")
	}
	// A second fetch is served from the cache.
	if err := f.One(context.Background(), a); err != nil || calls.Load() != 3 {
		t.Fatalf("refetched: calls=%d err=%v", calls.Load(), err)
	}
}

func TestFetchRefusesMismatchAndDoesNotCache(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("tampered"))
	}))
	defer srv.Close()
	f := newFetcher(t)
	want := sum([]byte("original"))
	err := f.One(context.Background(), Artifact{Name: "evil-1.0-py3-none-any.whl", URL: srv.URL + "/evil.whl", Sha256: want})
	if err == nil || !strings.Contains(err.Error(), "evil-1.0-py3-none-any.whl") || !strings.Contains(err.Error(), "mismatch") {
		t.Fatalf("error %v should name the wheel and the mismatch", err)
	}
	if f.Cache.Has(want) || f.Cache.Has(sum([]byte("tampered"))) {
		t.Fatal("mismatching content reached the cache")
	}
}

func TestFetchNotFoundIsNotRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.NotFound(w, r)
	}))
	defer srv.Close()
	f := newFetcher(t)
	err := f.One(context.Background(), Artifact{Name: "gone.whl", URL: srv.URL + "/gone.whl", Sha256: sum([]byte("x"))})
	if err == nil || calls.Load() != 1 {
		t.Fatalf("calls=%d err=%v", calls.Load(), err)
	}
}

func TestFetchPathsAndFileURLs(t *testing.T) {
	f := newFetcher(t)
	body := []byte("local wheel")
	if err := os.WriteFile(filepath.Join(f.BaseDir, "w.whl"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(f.BaseDir, "w.whl")
	for _, u := range []string{"w.whl", abs, "file://" + abs} {
		f.Cache, _ = cache.Open(t.TempDir())
		if err := f.One(context.Background(), Artifact{Name: u, URL: u, Sha256: sum(body)}); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	err := f.One(context.Background(), Artifact{Name: "w.whl", URL: "w.whl", Sha256: sum(body), Size: 3})
	if err != nil {
		t.Fatalf("cached entry should be served whatever the size field says: %v", err)
	}
	f.Cache, _ = cache.Open(t.TempDir())
	if err := f.One(context.Background(), Artifact{Name: "w.whl", URL: "w.whl", Sha256: sum(body), Size: 3}); err == nil {
		t.Fatal("wrong size accepted")
	}
}

func TestRedactDropsCredentials(t *testing.T) {
	if got := redact("https://user:secret@example.com/x.whl"); strings.Contains(got, "secret") {
		t.Fatalf("redact kept the password: %s", got)
	}
}
