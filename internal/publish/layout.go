package publish

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/kiln-build/kiln/internal/imageref"
)

// layoutPublisher writes oci:DIR[:TAG] as a fresh OCI image layout holding
// only the artifact, tagged with org.opencontainers.image.ref.name when the
// reference has a tag. Unlike skopeo it does not add to an existing layout:
// the whole directory is replaced, and only a directory that is empty or is
// already an OCI layout, so a mistyped path cannot wipe unrelated files.
type layoutPublisher struct {
	ref imageref.Ref
}

func (p *layoutPublisher) String() string { return p.ref.String() }

func (p *layoutPublisher) Publish(ctx context.Context, a Artifact) (Result, error) {
	d, err := p.publish(ctx, a)
	if err != nil {
		return Result{}, fmt.Errorf("write %s: %w", p.ref, err)
	}
	return Result{Ref: p.ref.String(), Digest: d}, nil
}

func (p *layoutPublisher) publish(ctx context.Context, a Artifact) (_ v1.Hash, err error) {
	d, err := a.digest()
	if err != nil {
		return d, err
	}
	target := filepath.Clean(p.ref.Path)
	exists, err := replaceableLayout(target)
	if err != nil {
		return d, err
	}
	dir, prefix, err := tempBeside(target)
	if err != nil {
		return d, err
	}
	tmp, err := os.MkdirTemp(dir, prefix)
	if err != nil {
		return d, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()

	lp, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return d, err
	}
	var opts []layout.Option
	if p.ref.Tag != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{refNameKey: p.ref.Tag}))
	}
	if a.Index != nil {
		err = lp.AppendIndex(a.Index, opts...)
	} else {
		err = lp.AppendImage(a.Image, opts...)
	}
	if err != nil {
		return d, err
	}
	if err := syncTree(tmp); err != nil {
		return d, err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return d, err
	}
	// The layout writer cannot be interrupted; a cancelled publish still
	// must not replace the previous output.
	if err := ctx.Err(); err != nil {
		return d, err
	}
	if exists {
		old := tmp + "-old"
		if err := os.Rename(target, old); err != nil {
			return d, err
		}
		if err := os.Rename(tmp, target); err != nil {
			return d, errors.Join(err, os.Rename(old, target))
		}
		if err := os.RemoveAll(old); err != nil {
			return d, fmt.Errorf("remove previous layout: %w", err)
		}
	} else if err := os.Rename(tmp, target); err != nil {
		return d, err
	}
	return d, syncDir(dir)
}

const refNameKey = "org.opencontainers.image.ref.name"

// replaceableLayout reports whether target exists, and refuses a target that
// is neither an empty directory nor an OCI layout.
func replaceableLayout(target string) (bool, error) {
	fi, err := os.Lstat(target)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("%s exists and is not a directory", target)
	}
	if _, err := os.Stat(filepath.Join(target, "oci-layout")); err == nil {
		return true, nil
	}
	entries, err := os.ReadDir(target)
	if err != nil {
		return false, err
	}
	if len(entries) > 0 {
		return false, fmt.Errorf("%s is a non-empty directory that is not an OCI layout; refusing to replace it", target)
	}
	return true, nil
}

// syncTree flushes every file under root, so that the rename that publishes
// it cannot outlive its contents in a crash.
func syncTree(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}
