package base

import "testing"

func TestFiles(t *testing.T) {
	f, err := ReadFiles(image(t, nil, tarOf(debianish())), KeepSystemFiles)
	if err != nil {
		t.Fatal(err)
	}
	if data, ok := f.ReadFile("/etc/passwd"); !ok || string(data) != passwd {
		t.Errorf("ReadFile(/etc/passwd) = %q, %v", data, ok)
	}
	if _, ok := f.ReadFile("/etc/nonexistent"); ok {
		t.Error("ReadFile of a missing file succeeded")
	}
	if !f.Exists("/usr/bin/python3.11") || f.Exists("/usr/bin/perl") {
		t.Error("Exists is wrong")
	}
	if got := f.Glob("/etc/pass*"); len(got) != 1 || got[0] != "/etc/passwd" {
		t.Errorf("Glob = %v", got)
	}
	var none *Files
	if none.Exists("/") || none.Glob("/*") != nil {
		t.Error("a nil Files must be empty")
	}
}
