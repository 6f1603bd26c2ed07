package build

import (
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/project"
)

func TestUsersTreeAppendsAccount(t *testing.T) {
	info := accountFiles{
		passwd: []byte("root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n"),
		group:  []byte("root:x:0:\n"),
	}
	tree, err := usersTree(info, project.User{Name: "app", UID: 1001, GID: 1001})
	if err != nil {
		t.Fatal(err)
	}
	passwd, _ := tree.Get("etc/passwd")
	if !strings.HasSuffix(string(passwd.Data), "www-data:x:33:33::/var/www:/usr/sbin/nologin\napp:x:1001:1001:kiln runtime user:/home/app:/usr/sbin/nologin\n") {
		t.Errorf("passwd:\n%s", passwd.Data)
	}
	group, _ := tree.Get("etc/group")
	if string(group.Data) != "root:x:0:\napp:x:1001:\n" {
		t.Errorf("group:\n%s", group.Data)
	}
	home, ok := tree.Get("home/app")
	if !ok || home.UID != 1001 || home.GID != 1001 {
		t.Errorf("home: %+v", home)
	}
}

func TestUsersTreeRefusesClashes(t *testing.T) {
	info := accountFiles{passwd: []byte("root:x:0:0:root:/root:/bin/bash\nsvc:x:1001:1001::/:/bin/sh\n"), group: []byte("root:x:0:\n")}
	_, err := usersTree(info, project.User{Name: "app", UID: 1001, GID: 1001})
	if err == nil || !strings.Contains(err.Error(), "1001") || !strings.Contains(err.Error(), "svc") {
		t.Fatalf("uid clash: %v", err)
	}
	info.passwd = []byte("app:x:1001:1001::/home/app:/bin/sh\n")
	info.group = []byte("app:x:1001:\n")
	tree, err := usersTree(info, project.User{Name: "app", UID: 1001, GID: 1001})
	if err != nil {
		t.Fatalf("an existing identical account must be kept: %v", err)
	}
	if p, _ := tree.Get("etc/passwd"); string(p.Data) != string(info.passwd) {
		t.Errorf("passwd changed:\n%s", p.Data)
	}
}

func TestEpoch(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "")
	if e, err := Epoch(); err != nil || e.Unix() != 0 {
		t.Fatalf("unset: %v %v", e, err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	if e, err := Epoch(); err != nil || e.Unix() != 1700000000 {
		t.Fatalf("set: %v %v", e, err)
	}
	for _, bad := range []string{"yesterday", "-5", "1.5e9"} {
		t.Setenv("SOURCE_DATE_EPOCH", bad)
		if _, err := Epoch(); err == nil {
			t.Errorf("SOURCE_DATE_EPOCH=%q accepted", bad)
		}
	}
}
