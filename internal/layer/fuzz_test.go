package layer

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// FuzzAdd checks that no accepted path can leave the image root and that any
// tree that accepts it still writes a valid tar.
func FuzzAdd(f *testing.F) {
	for _, s := range []string{"app/main.py", "/etc/passwd", "../x", "a/./b//c", "a/..", ".", "", "a\\b"} {
		f.Add(s, "target")
	}
	f.Fuzz(func(t *testing.T, p, target string) {
		tr := NewTree()
		c, err := CleanPath(strings.TrimPrefix(p, "/"))
		if err != nil {
			return
		}
		if strings.HasPrefix(c, "/") || c == ".." || strings.HasPrefix(c, "../") || strings.Contains(c, "/../") {
			t.Fatalf("CleanPath(%q) = %q escapes the root", p, c)
		}
		if err := tr.AddFile(p, 0o644, []byte("x")); err != nil {
			t.Fatalf("CleanPath accepted %q but AddFile refused it: %v", p, err)
		}
		_ = tr.AddSymlink(p+"-link", target)
		var buf bytes.Buffer
		if err := tr.Write(&buf, time.Unix(0, 0)); err != nil {
			t.Fatalf("Write after adding %q: %v", p, err)
		}
	})
}
