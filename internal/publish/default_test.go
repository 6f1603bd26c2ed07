package publish

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// testRegistry is an in-process registry on loopback that can refuse the
// upload of one blob and records the manifests it was sent.
type testRegistry struct {
	host   string
	h      http.Handler
	mu     sync.Mutex
	fail   string   // digest whose upload is refused
	flaky  string   // digest whose upload is answered 503 …
	flakyN int      // … this many more times
	tagged []string // manifest PUT paths
}

func startRegistry(t *testing.T) *testRegistry {
	t.Helper()
	r := &testRegistry{h: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	r.host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

func (r *testRegistry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	fail := r.fail
	unavailable := false
	if r.flakyN > 0 && req.Method == http.MethodPut && req.URL.Query().Get("digest") == r.flaky {
		r.flakyN--
		unavailable = true
	}
	if req.Method == http.MethodPut && strings.Contains(req.URL.Path, "/manifests/") {
		r.tagged = append(r.tagged, req.URL.Path)
	}
	r.mu.Unlock()
	if unavailable {
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	if fail != "" && req.Method == http.MethodPut && req.URL.Query().Get("digest") == fail {
		http.Error(w, `{"errors":[{"code":"DENIED","message":"refused by test"}]}`, http.StatusForbidden)
		return
	}
	r.h.ServeHTTP(w, req)
}

func blobs(t *testing.T, imgs ...v1.Image) ([]v1.Hash, int64) {
	t.Helper()
	var hs []v1.Hash
	var size int64
	for _, img := range imgs {
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, m.Config.Digest)
		size += m.Config.Size
		for _, l := range m.Layers {
			hs = append(hs, l.Digest)
			size += l.Size
		}
	}
	slices.SortFunc(hs, func(a, b v1.Hash) int { return strings.Compare(a.String(), b.String()) })
	return hs, size
}

func TestRegistryPushImage(t *testing.T) {
	reg := startRegistry(t)
	ctx := context.Background()
	img := platformImage(t, "linux/amd64")
	res, err := publisher(t, reg.host+"/app:v1").Publish(ctx, Artifact{Image: img})
	if err != nil {
		t.Fatal(err)
	}
	d := digest(t, img)
	if want := reg.host + "/app:v1@" + d.String(); res.Ref != want || res.Digest != d {
		t.Errorf("Result = %s %s, want %s", res.Ref, res.Digest, want)
	}
	wantPushed, wantBytes := blobs(t, img)
	if !slices.Equal(res.Pushed, wantPushed) || res.PushedBytes != wantBytes {
		t.Errorf("Pushed = %v (%d bytes), want %v (%d bytes)", res.Pushed, res.PushedBytes, wantPushed, wantBytes)
	}
	if src := read(t, res.Ref); src.Digest != d {
		t.Errorf("read back %s, want %s", src.Digest, d)
	}
	if src := read(t, reg.host+"/app:v1"); src.Digest != d {
		t.Errorf("tag points at %s, want %s", src.Digest, d)
	}

	// Pushing again uploads nothing.
	res, err = publisher(t, reg.host+"/app:v1").Publish(ctx, Artifact{Image: img})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Pushed) != 0 || res.PushedBytes != 0 {
		t.Errorf("second push uploaded %v (%d bytes)", res.Pushed, res.PushedBytes)
	}

	// One new layer on top: only it and the new config go up.
	layer, err := random.Layer(2048, "application/vnd.docker.image.rootfs.diff.tar.gzip")
	if err != nil {
		t.Fatal(err)
	}
	img2, err := mutate.AppendLayers(img, layer)
	if err != nil {
		t.Fatal(err)
	}
	res, err = publisher(t, reg.host+"/app:v2").Publish(ctx, Artifact{Image: img2})
	if err != nil {
		t.Fatal(err)
	}
	m2, _ := img2.Manifest()
	want := []v1.Hash{m2.Config.Digest, digest(t, layer)}
	slices.SortFunc(want, func(a, b v1.Hash) int { return strings.Compare(a.String(), b.String()) })
	size, _ := layer.Size()
	if !slices.Equal(res.Pushed, want) || res.PushedBytes != size+m2.Config.Size {
		t.Errorf("incremental push uploaded %v (%d bytes), want %v (%d bytes)", res.Pushed, res.PushedBytes, want, size+m2.Config.Size)
	}
}

func TestRegistryPushIndex(t *testing.T) {
	reg := startRegistry(t)
	idx, imgs := platformIndex(t, "linux/amd64", "linux/arm64")
	res, err := publisher(t, "docker://"+reg.host+"/multi:1").Publish(context.Background(), Artifact{Index: idx})
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != digest(t, idx) {
		t.Errorf("Digest = %s, want the index's", res.Digest)
	}
	wantPushed, wantBytes := blobs(t, imgs["linux/amd64"], imgs["linux/arm64"])
	if !slices.Equal(res.Pushed, wantPushed) || res.PushedBytes != wantBytes {
		t.Errorf("Pushed = %v (%d bytes), want %v (%d bytes)", res.Pushed, res.PushedBytes, wantPushed, wantBytes)
	}
	src := read(t, reg.host+"/multi:1")
	if src.Index == nil || src.Digest != digest(t, idx) {
		t.Fatalf("read back %+v", src)
	}
	arm, err := src.ForPlatform(v1.Platform{OS: "linux", Architecture: "arm64"})
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, arm) != digest(t, imgs["linux/arm64"]) {
		t.Error("arm64 image differs after the round trip")
	}
}

func TestRegistryFailedBlobLeavesNoTag(t *testing.T) {
	idx, imgs := platformIndex(t, "linux/amd64", "linux/arm64")
	for kind, a := range map[string]Artifact{
		"image": {Image: imgs["linux/amd64"]},
		"index": {Index: idx},
	} {
		t.Run(kind, func(t *testing.T) {
			reg := startRegistry(t)
			ls, err := imgs["linux/arm64"].Layers()
			if err != nil {
				t.Fatal(err)
			}
			if kind == "image" {
				ls, _ = imgs["linux/amd64"].Layers()
			}
			reg.fail = digest(t, ls[len(ls)-1]).String()

			ref := reg.host + "/app:broken"
			_, err = publisher(t, ref).Publish(context.Background(), a)
			if err == nil || !strings.Contains(err.Error(), ref) || !strings.Contains(err.Error(), "refused by test") {
				t.Fatalf("Publish = %v, want the registry's refusal, naming %s", err, ref)
			}
			tag, _ := name.ParseReference(ref)
			_, err = remote.Head(tag)
			var terr *transport.Error
			if !errors.As(err, &terr) || terr.StatusCode != http.StatusNotFound {
				t.Errorf("HEAD %s after a failed push = %v, want 404", ref, err)
			}
			for _, p := range reg.tagged {
				if strings.HasSuffix(p, "/manifests/broken") {
					t.Errorf("the tag was written (%s) although a blob failed", p)
				}
			}
		})
	}
}

func TestRegistryDigestRef(t *testing.T) {
	reg := startRegistry(t)
	img := platformImage(t, "linux/amd64")
	d := digest(t, img)
	res, err := publisher(t, reg.host+"/app@"+d.String()).Publish(context.Background(), Artifact{Image: img})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ref != reg.host+"/app@"+d.String() {
		t.Errorf("Ref = %s", res.Ref)
	}
	other := platformImage(t, "linux/amd64")
	_, err = publisher(t, reg.host+"/app@"+d.String()).Publish(context.Background(), Artifact{Image: other})
	if err == nil || !strings.Contains(err.Error(), "not "+d.String()) {
		t.Errorf("push to another image's digest = %v", err)
	}
}

func TestRegistryRetriesUnavailable(t *testing.T) {
	reg := startRegistry(t)
	img := platformImage(t, "linux/amd64")
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	reg.flaky, reg.flakyN = digest(t, ls[0]).String(), 1
	res, err := publisher(t, reg.host+"/app:v1").Publish(context.Background(), Artifact{Image: img})
	if err != nil {
		t.Fatalf("a single 503 was not retried: %v", err)
	}
	if reg.flakyN != 0 {
		t.Error("the flaky upload was never attempted")
	}
	if want, _ := blobs(t, img); !slices.Equal(res.Pushed, want) {
		t.Errorf("Pushed = %v, want %v", res.Pushed, want)
	}
}
