package build

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/kiln-build/kiln/internal/cache"
	"github.com/kiln-build/kiln/internal/fetch"
	"github.com/kiln-build/kiln/internal/layer"
	"github.com/kiln-build/kiln/internal/wheel"
)

// Result is what a build produced, for --json and progress.
type Result struct {
	Digest    string            `json:"digest"`
	MediaType string            `json:"media_type"`
	Platforms []*PlatformResult `json:"platforms"`
	Timings   map[string]string `json:"timings"`

	Image v1.Image      `json:"-"` // set for a single platform
	Index v1.ImageIndex `json:"-"` // set for several
}

// PlatformResult describes the image built for one platform.
type PlatformResult struct {
	Platform string        `json:"platform"`
	Digest   string        `json:"digest"`
	Layers   []LayerResult `json:"layers"`
}

// LayerResult describes one layer kiln added.
type LayerResult struct {
	Name   string `json:"name"`
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	Cached bool   `json:"cached"`
}

// Build executes a plan.
func Build(ctx context.Context, o Options, plan *Plan) (*Result, error) {
	res := &Result{Timings: map[string]string{}}
	git := gitInfo(plan.project.Dir)
	var images []v1.Image
	start := time.Now()
	for _, pp := range plan.Platforms {
		img, pr, err := buildPlatform(ctx, o, plan, pp, git)
		if err != nil {
			return nil, err
		}
		images = append(images, img)
		res.Platforms = append(res.Platforms, pr)
	}
	res.Timings["layers"] = time.Since(start).Round(time.Millisecond).String()

	if len(images) == 1 {
		res.Image = images[0]
		d, err := images[0].Digest()
		if err != nil {
			return nil, err
		}
		mt, _ := images[0].MediaType()
		res.Digest, res.MediaType = d.String(), string(mt)
		return res, nil
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for i, img := range images {
		p := plan.Platforms[i].platform
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	idx = mutate.Annotations(idx, annotations(plan, git, plan.Base.Digest)).(v1.ImageIndex)
	d, err := idx.Digest()
	if err != nil {
		return nil, err
	}
	res.Index, res.Digest, res.MediaType = idx, d.String(), string(types.OCIImageIndex)
	return res, nil
}

func buildPlatform(ctx context.Context, o Options, plan *Plan, pp *PlatformPlan, git gitDescription) (v1.Image, *PlatformResult, error) {
	baseMT, err := pp.image.MediaType()
	if err != nil {
		return nil, nil, fmt.Errorf("base %s: %w", pp.BaseDigest, err)
	}
	layerMT := types.OCILayer
	if baseMT == types.DockerManifestSchema2 {
		layerMT = types.DockerLayer
	}
	pr := &PlatformResult{Platform: pp.Platform}
	var adds []mutate.Addendum
	add := func(name string, l v1.Layer, b layer.Blob, cached bool) {
		pr.Layers = append(pr.Layers, LayerResult{Name: name, Digest: "sha256:" + b.Digest, Size: b.Size, Cached: cached})
		adds = append(adds, mutate.Addendum{
			Layer:     l,
			MediaType: layerMT,
			History:   v1.History{Created: v1.Time{Time: o.Epoch}, CreatedBy: "kiln build: " + name, Comment: "kiln"},
		})
		state := "built"
		if cached {
			state = "cached"
		}
		o.Log("%s: layer %-12s %s %s (%d bytes)", pp.Platform, name, b.Digest[:12], state, b.Size)
	}

	accounts := accountFiles{passwd: pp.info.Passwd, group: pp.info.Group}
	if pp.PackagesKey != "" {
		l, b, hit, err := layer.Cached(o.Cache, pp.PackagesKey, o.Epoch, layerMT, func() (*layer.Tree, error) {
			return packagesTree(ctx, o, plan, pp)
		})
		if err != nil {
			return nil, nil, fmt.Errorf("%s: packages layer: %w", pp.Platform, err)
		}
		add("packages", l, b, hit)
		// Packages may add accounts (base-passwd's www-data...): the users
		// layer extends what the packages layer wrote, not the base's files.
		if accounts, err = accountsOf(o.Cache, b, accounts); err != nil {
			return nil, nil, fmt.Errorf("%s: packages layer: %w", pp.Platform, err)
		}
	}

	u := plan.project.Config.User
	usersKey := cacheKey("users", pp.BaseDigest, pp.PackagesKey, u.Name, fmt.Sprint(u.UID), fmt.Sprint(u.GID))
	l, b, hit, err := layer.Cached(o.Cache, usersKey, o.Epoch, layerMT, func() (*layer.Tree, error) {
		return usersTree(accounts, u)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: users layer: %w", pp.Platform, err)
	}
	add("users", l, b, hit)

	l, b, hit, err = layer.Cached(o.Cache, pp.DepsKey, o.Epoch, layerMT, func() (*layer.Tree, error) {
		return depsTree(ctx, o, plan, pp)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: dependencies layer: %w", pp.Platform, err)
	}
	add("dependencies", l, b, hit)

	appTree, err := appTree(plan, pp)
	if err != nil {
		return nil, nil, err
	}
	l, b, hit, err = storeTree(o, appTree, layerMT)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: application layer: %w", pp.Platform, err)
	}
	add("application", l, b, hit)

	metaTree, err := versionTree(plan, pp, git, o.Epoch)
	if err != nil {
		return nil, nil, err
	}
	l, b, hit, err = storeTree(o, metaTree, layerMT)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: metadata layer: %w", pp.Platform, err)
	}
	add("metadata", l, b, hit)

	img, err := mutate.Append(pp.image, adds...)
	if err != nil {
		return nil, nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, nil, err
	}
	cf = cf.DeepCopy()
	configure(cf, plan, pp, git, o.Epoch)
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, nil, err
	}
	img = mutate.Annotations(img, annotations(plan, git, pp.BaseDigest)).(v1.Image)
	d, err := img.Digest()
	if err != nil {
		return nil, nil, err
	}
	pr.Digest = d.String()
	return img, pr, nil
}

// storeTree stores a layer that is cheap to rebuild, so it is not looked up by
// input key; "cached" then means that identical bytes were already stored.
func storeTree(o Options, t *layer.Tree, mt types.MediaType) (v1.Layer, layer.Blob, bool, error) {
	b, err := layer.Store(o.Cache, t, o.Epoch)
	if err != nil {
		return nil, b, false, err
	}
	l, err := b.Layer(o.Cache, mt)
	return l, b, false, err
}

func cacheKey(parts ...string) string {
	return cache.Key(append([]string{layerFormat}, parts...)...)
}

func depsTree(ctx context.Context, o Options, plan *Plan, pp *PlatformPlan) (*layer.Tree, error) {
	f := fetch.New(o.Cache, plan.project.Dir)
	if o.Index != nil {
		f.Client.Transport = o.Index.Transport()
	}
	f.Progress = func(a fetch.Artifact, cached bool, n int64) {
		if !cached {
			o.Log("fetched %s (%d bytes)", a.Name, n)
		}
	}
	arts := make([]fetch.Artifact, len(pp.Wheels))
	for i, w := range pp.Wheels {
		arts[i] = fetch.Artifact{Name: w.Filename, URL: w.URL, Sha256: w.Sha256, Size: w.Size}
	}
	if err := f.All(ctx, arts); err != nil {
		return nil, err
	}
	venv := wheel.Venv{Root: VenvRoot, PythonMinor: pp.info.PythonMinor, Interpreter: pp.info.Interpreter}
	t := layer.NewTree()
	if err := venv.Create(t, pp.info.PythonVersion); err != nil {
		return nil, err
	}
	cfg := plan.project.Config
	limits := wheel.Limits{MaxUnpacked: cfg.MaxUnpackedSize, MaxRatio: cfg.MaxCompressionRatio}
	for _, w := range pp.Wheels {
		fh, err := o.Cache.Open(w.Sha256)
		if err != nil {
			return nil, fmt.Errorf("wheel %s: %w", w.Filename, err)
		}
		_, err = wheel.Install(t, venv, w.Filename, fh, wheel.InstallOptions{Installer: "kiln", Limits: limits})
		fh.Close()
		if err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Epoch reads SOURCE_DATE_EPOCH; unset means the Unix epoch, so that builds
// are reproducible unless asked otherwise.
func Epoch() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a non-negative integer of seconds", s)
	}
	return time.Unix(n, 0).UTC(), nil
}
