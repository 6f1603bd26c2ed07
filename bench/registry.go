package main

import (
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/registry"
)

// countingRegistry is an in-memory OCI registry on 127.0.0.1 that counts
// the bytes pushed to it. Reset replaces its content with nothing, for a
// push into an empty registry, on the same address.
type countingRegistry struct {
	addr   string
	pushed atomic.Int64
	mu     sync.Mutex
	h      http.Handler
	srv    *http.Server
}

func startRegistry() (*countingRegistry, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &countingRegistry{addr: ln.Addr().String(), h: registry.New(registry.Logger(nopLogger()))}
	r.srv = &http.Server{Handler: r}
	go r.srv.Serve(ln)
	return r, nil
}

func (r *countingRegistry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead && strings.Contains(req.URL.Path, "/blobs/") {
		req.Body = countingReader{req.Body, &r.pushed}
	}
	r.mu.Lock()
	h := r.h
	r.mu.Unlock()
	h.ServeHTTP(w, req)
}

// Reset empties the registry.
func (r *countingRegistry) Reset() {
	r.mu.Lock()
	r.h = registry.New(registry.Logger(nopLogger()))
	r.mu.Unlock()
}

// Pushed returns the blob bytes received since the last call.
func (r *countingRegistry) Pushed() int64 { return r.pushed.Swap(0) }

func (r *countingRegistry) Close() { r.srv.Close() }

type countingReader struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func nopLogger() *log.Logger { return log.New(io.Discard, "", 0) }
