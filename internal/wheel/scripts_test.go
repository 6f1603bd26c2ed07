package wheel

import "testing"

func TestParseScriptsIndented(t *testing.T) {
	// uvicorn 0.17.6's entry_points.txt, as its setup.py writes it.
	got, err := parseScripts([]byte("\n    [console_scripts]\n    uvicorn=uvicorn.main:main\n    "), "3.11")
	if err != nil || len(got) != 1 || got[0] != (script{"uvicorn", "uvicorn.main:main"}) {
		t.Fatalf("parseScripts = %v, %v", got, err)
	}
	if _, err := parseScripts([]byte("[console_scripts]\na = b:c\n  more\n"), "3.11"); err == nil {
		t.Fatal("a stray line without = was accepted")
	}
}
