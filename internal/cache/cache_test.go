package cache

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type sample struct {
	Digest string `json:"digest"`
	N      int    `json:"n"`
}

func TestRecordRoundTrip(t *testing.T) {
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key := Key("k")
	if c.Record("layer", key, &sample{}) {
		t.Fatal("a record before any was set")
	}
	if err := c.SetRecord("layer", key, sample{"abc", 7}); err != nil {
		t.Fatal(err)
	}
	var got sample
	if !c.Record("layer", key, &got) || got != (sample{"abc", 7}) {
		t.Fatalf("Record = %+v", got)
	}
}

// Every way a record file can stop describing its key reads as a miss, and
// the bad file is removed so the next build writes a good one.
func TestRecordRefusesDamage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, c *Cache, key, other string)
	}{
		{"bit flip in a value", func(t *testing.T, c *Cache, key, _ string) {
			p := c.recordPath("layer", key)
			b, _ := os.ReadFile(p)
			b = bytes.Replace(b, []byte(`"n":7`), []byte(`"n":6`), 1)
			os.WriteFile(p, b, 0o644)
		}},
		{"digest pointed at another blob", func(t *testing.T, c *Cache, key, _ string) {
			p := c.recordPath("layer", key)
			b, _ := os.ReadFile(p)
			b = bytes.Replace(b, []byte(`abc`), []byte(`def`), 1)
			os.WriteFile(p, b, 0o644)
		}},
		{"another key's record copied over", func(t *testing.T, c *Cache, key, other string) {
			b, _ := os.ReadFile(c.recordPath("layer", other))
			os.WriteFile(c.recordPath("layer", key), b, 0o644)
		}},
		{"truncated", func(t *testing.T, c *Cache, key, _ string) {
			p := c.recordPath("layer", key)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o644)
		}},
		{"a record of the old, unchecked form", func(t *testing.T, c *Cache, key, _ string) {
			os.WriteFile(c.recordPath("layer", key), []byte(`{"digest":"abc","n":7}`), 0o644)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			key, other := Key("k"), Key("other")
			if err := c.SetRecord("layer", key, sample{"abc", 7}); err != nil {
				t.Fatal(err)
			}
			if err := c.SetRecord("layer", other, sample{"def", 9}); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, c, key, other)
			var got sample
			if c.Record("layer", key, &got) {
				t.Fatalf("damaged record served: %+v", got)
			}
			if _, err := os.Stat(c.recordPath("layer", key)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("damaged record left in place: %v", err)
			}
		})
	}
}

func TestOpenRemovesCorruptBlob(t *testing.T) {
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sum, _, err := c.Put(strings.NewReader("content"), "")
	if err != nil {
		t.Fatal(err)
	}
	var copied bytes.Buffer
	if err := c.Check(sum, &copied); err != nil || copied.String() != "content" {
		t.Fatalf("Check = %v, copied %q", err, copied.String())
	}
	if err := os.WriteFile(c.Path(sum), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Open(sum); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open of a corrupt blob = %v, want not-exist", err)
	}
	if _, err := os.Stat(c.Path(sum)); !errors.Is(err, os.ErrNotExist) {
		t.Error("corrupt blob not removed")
	}
	if _, _, err := c.Put(strings.NewReader("other"), sum); !errors.Is(err, ErrMismatch) {
		t.Errorf("Put with the wrong hash = %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(c.Root(), "tmp")); len(entries) != 0 {
		t.Errorf("tmp holds %d leftovers", len(entries))
	}
}
