package uvlock

import (
	"slices"
	"testing"
)

func TestDevOnly(t *testing.T) {
	l := loadFixture(t, "workspace")
	all := l.DevOnly(nil)
	for _, want := range []string{"coverage", "ruff", "mkdocs", "strict-no-cover", "tomli"} {
		if !slices.Contains(all, want) {
			t.Errorf("DevOnly(nil) = %v, misses %s", all, want)
		}
	}
	// Production packages, extras of the root included, and workspace
	// members are never dev-only, even when a group names them too.
	for _, prod := range append([]string{"mcp", "mcp-types", "rich", "typer"}, workspaceProd...) {
		if slices.Contains(all, prod) {
			t.Errorf("DevOnly(nil) = %v, lists production package %s", all, prod)
		}
	}
	docs := l.DevOnly([]string{"Docs"})
	if slices.Contains(docs, "mkdocs") || !slices.Contains(docs, "ruff") {
		t.Errorf("DevOnly([docs]) = %v: mkdocs is installed with docs, ruff is not", docs)
	}
}
