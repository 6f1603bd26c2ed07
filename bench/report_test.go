package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want stat
	}{
		{[]float64{3, 1, 2}, stat{2, 1, 3}},
		{[]float64{4, 1, 2, 3}, stat{2.5, 1, 4}},
		{[]float64{7}, stat{7, 7, 7}},
	} {
		if got := summarize(tc.in); got != tc.want {
			t.Errorf("summarize(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// The two wheel sets differ only in the swapped package's version, and
// pip's wheel (for the Dockerfile's build stage) is in neither.
func TestWheelSets(t *testing.T) {
	all := t.TempDir()
	for _, f := range []string{"Django-3.2.25-py3-none-any.whl", "sqlparse-0.4.2-py3-none-any.whl", "sqlparse-0.4.4-py3-none-any.whl", "pip-23.0.1-py3-none-any.whl"} {
		os.WriteFile(filepath.Join(all, f), nil, 0o644)
	}
	oldDir, newDir, err := wheelSets(all, t.TempDir(), []swapped{{"sqlparse", "0.4.2", "0.4.4"}})
	if err != nil {
		t.Fatal(err)
	}
	list := func(dir string) string {
		m, _ := filepath.Glob(filepath.Join(dir, "*.whl"))
		for i := range m {
			m[i] = filepath.Base(m[i])
		}
		return strings.Join(m, " ")
	}
	if got := list(oldDir); got != "Django-3.2.25-py3-none-any.whl sqlparse-0.4.2-py3-none-any.whl" {
		t.Errorf("old set: %s", got)
	}
	if got := list(newDir); got != "Django-3.2.25-py3-none-any.whl sqlparse-0.4.4-py3-none-any.whl" {
		t.Errorf("new set: %s", got)
	}
}
