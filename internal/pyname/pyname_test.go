package pyname

import "testing"

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"Flask":              "flask",
		"zope.interface":     "zope-interface",
		"Typing__Extensions": "typing-extensions",
		"a-_.b":              "a-b",
		"MarkupSafe":         "markupsafe",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Escape("kiln-demo.ext"); got != "kiln_demo_ext" {
		t.Errorf("Escape = %q", got)
	}
}
