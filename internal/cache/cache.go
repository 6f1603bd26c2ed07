// Package cache is kiln's content-addressed store: blobs named by their
// sha256, and small records mapping an input key to what was built from it.
//
// Every blob is verified against its name when it is opened, so a corrupt or
// truncated entry is never served: it is removed and reported as a miss.
// Writes go to a temporary file in the same directory and are renamed into
// place, so an interrupted build leaves the cache consistent.
package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
)

// Cache is a directory holding blobs/sha256/<hex> and records/<kind>/<key>.json.
type Cache struct {
	root string
}

// Dir returns the cache directory: $KILN_CACHE, else $XDG_CACHE_HOME/kiln,
// else ~/.cache/kiln.
func Dir() (string, error) {
	if d := os.Getenv("KILN_CACHE"); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "kiln"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cache: no KILN_CACHE, XDG_CACHE_HOME or home directory: %w", err)
	}
	return filepath.Join(home, ".cache", "kiln"), nil
}

// Open returns the cache rooted at dir, creating it if needed.
func Open(dir string) (*Cache, error) {
	for _, sub := range []string{"blobs/sha256", "records", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("cache %s: %w", dir, err)
		}
	}
	return &Cache{root: dir}, nil
}

// Root is the cache directory.
func (c *Cache) Root() string { return c.root }

var hexDigest = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ErrMismatch reports content whose sha256 is not the one it was expected to have.
var ErrMismatch = errors.New("sha256 mismatch")

func (c *Cache) blobPath(hexsum string) string {
	return filepath.Join(c.root, "blobs", "sha256", hexsum)
}

// Has reports whether a verified blob with this sha256 is present. It reads
// the whole blob; a corrupt one is deleted.
func (c *Cache) Has(hexsum string) bool {
	f, err := c.Open(hexsum)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// Open opens the blob with this sha256 after checking that its content still
// has that hash. A missing blob gives an error wrapping os.ErrNotExist; a
// corrupt one is removed and also reported as not existing.
func (c *Cache) Open(hexsum string) (*os.File, error) {
	f, err := c.check(hexsum, io.Discard)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Check reads the blob with this sha256 once, copying it to also as it goes
// (so a caller can check what the content means in the same pass), and
// reports whether the content still has that hash; a corrupt blob is removed
// and reported as not existing.
func (c *Cache) Check(hexsum string, also io.Writer) error {
	f, err := c.check(hexsum, also)
	if err != nil {
		return err
	}
	return f.Close()
}

func (c *Cache) check(hexsum string, also io.Writer) (*os.File, error) {
	if !hexDigest.MatchString(hexsum) {
		return nil, fmt.Errorf("cache: invalid sha256 %q", hexsum)
	}
	p := c.blobPath(hexsum)
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(h, also), f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cache blob %s: %w", hexsum, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != hexsum {
		f.Close()
		os.Remove(p)
		return nil, fmt.Errorf("cache blob %s was corrupt (content hashes to %s) and was removed: %w", hexsum, got, os.ErrNotExist)
	}
	return f, nil
}

// Path returns the file path of a blob that Open has verified.
func (c *Cache) Path(hexsum string) string { return c.blobPath(hexsum) }

// Put stores what r yields. When want is not empty the content must hash to
// it, else nothing is stored and the error wraps ErrMismatch. It returns the
// sha256 and size of what was stored.
func (c *Cache) Put(r io.Reader, want string) (string, int64, error) {
	tmp, err := os.CreateTemp(filepath.Join(c.root, "tmp"), "blob-*")
	if err != nil {
		return "", 0, fmt.Errorf("cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), r)
	if err != nil {
		tmp.Close()
		return "", 0, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", 0, fmt.Errorf("cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", 0, fmt.Errorf("cache: %w", err)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if want != "" && got != want {
		return "", 0, fmt.Errorf("expected sha256 %s, got %s: %w", want, got, ErrMismatch)
	}
	if err := os.Rename(tmp.Name(), c.blobPath(got)); err != nil {
		return "", 0, fmt.Errorf("cache: %w", err)
	}
	return got, n, nil
}

// PutFile is Put for content that is already in a file of the cache's tmp
// directory (see TempFile); the file is moved, not copied.
func (c *Cache) PutFile(tmpPath, hexsum string) error {
	if !hexDigest.MatchString(hexsum) {
		return fmt.Errorf("cache: invalid sha256 %q", hexsum)
	}
	return os.Rename(tmpPath, c.blobPath(hexsum))
}

// TempFile creates a scratch file on the cache's file system, for content
// that will be moved in with PutFile.
func (c *Cache) TempFile(pattern string) (*os.File, error) {
	return os.CreateTemp(filepath.Join(c.root, "tmp"), pattern)
}

var recordName = regexp.MustCompile(`^[a-z0-9-]+$`)

// record is how a record is stored: its value with the kind and key it was
// written for and a checksum over all three, so that bit-rot anywhere in the
// file, or a record copied to another key's name, reads as a miss instead of
// sending a build to the wrong blob.
type record struct {
	Kind  string          `json:"kind"`
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
	Sum   string          `json:"sha256"`
}

func recordSum(kind, key string, value []byte) string { return Key("record", kind, key, string(value)) }

func (c *Cache) recordPath(kind, key string) string {
	return filepath.Join(c.root, "records", kind, key+".json")
}

// Record loads the record of kind for key into v. It reports false when there
// is none, or when the stored record fails its checksum, names another kind
// or key, or cannot be decoded into v; such a record is removed.
func (c *Cache) Record(kind, key string, v any) bool {
	if !recordName.MatchString(kind) || !hexDigest.MatchString(key) {
		return false
	}
	p := c.recordPath(kind, key)
	b, err := os.ReadFile(p)
	if err != nil {
		return false
	}
	var r record
	if json.Unmarshal(b, &r) != nil || r.Kind != kind || r.Key != key ||
		r.Sum != recordSum(kind, key, r.Value) || json.Unmarshal(r.Value, v) != nil {
		os.Remove(p)
		return false
	}
	return true
}

// DropRecord removes the record of kind for key, for a caller that found it
// does not describe what it points at.
func (c *Cache) DropRecord(kind, key string) {
	if recordName.MatchString(kind) && hexDigest.MatchString(key) {
		os.Remove(c.recordPath(kind, key))
	}
}

// SetRecord stores v as the record of kind for key, atomically.
func (c *Cache) SetRecord(kind, key string, v any) error {
	if !recordName.MatchString(kind) || !hexDigest.MatchString(key) {
		return fmt.Errorf("cache: invalid record %s/%s", kind, key)
	}
	value, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b, err := json.Marshal(record{Kind: kind, Key: key, Value: value, Sum: recordSum(kind, key, value)})
	if err != nil {
		return err
	}
	dir := filepath.Join(c.root, "records", kind)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), c.recordPath(kind, key))
}

// Key hashes its parts, each length-prefixed so that no two part lists collide.
func Key(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s\n", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}
