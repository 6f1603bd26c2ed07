package build

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/kiln-build/kiln/internal/cache"
	"github.com/kiln-build/kiln/internal/layer"
	"github.com/kiln-build/kiln/internal/project"
)

// usersTree adds the runtime user and group to the base's /etc/passwd and
// /etc/group, with a home directory it owns. A user or group that already
// exists with the same name and ids is kept; a clash is an error, because
// running as a different account than configured would be a silent surprise.
func usersTree(acc accountFiles, u project.User) (*layer.Tree, error) {
	t := layer.NewTree()
	home := "/home/" + u.Name
	passwd, err := addAccount(acc.passwd, "/etc/passwd", u.Name, u.UID,
		fmt.Sprintf("%s:x:%d:%d:kiln runtime user:%s:/usr/sbin/nologin", u.Name, u.UID, u.GID, home))
	if err != nil {
		return nil, err
	}
	group, err := addAccount(acc.group, "/etc/group", u.Name, u.GID, fmt.Sprintf("%s:x:%d:", u.Name, u.GID))
	if err != nil {
		return nil, err
	}
	if err := t.AddFile("etc/passwd", 0o644, passwd); err != nil {
		return nil, err
	}
	if err := t.AddFile("etc/group", 0o644, group); err != nil {
		return nil, err
	}
	if err := t.Add(layer.Entry{Path: home, Kind: layer.Dir, Mode: 0o750, UID: u.UID, GID: u.GID}); err != nil {
		return nil, err
	}
	return t, nil
}

// accountFiles are /etc/passwd and /etc/group as the layers below see them.
type accountFiles struct{ passwd, group []byte }

// accountsOf reads the account files a stored layer writes, falling back to
// those below it.
func accountsOf(c *cache.Cache, b layer.Blob, below accountFiles) (accountFiles, error) {
	files, err := layer.ReadFiles(c, b, "etc/passwd", "etc/group")
	if err != nil {
		return below, err
	}
	if data, ok := files["etc/passwd"]; ok {
		below.passwd = data
	}
	if data, ok := files["etc/group"]; ok {
		below.group = data
	}
	return below, nil
}

func addAccount(existing []byte, file, name string, id int, line string) ([]byte, error) {
	if len(existing) == 0 && file == "/etc/passwd" {
		existing = []byte("root:x:0:0:root:/root:/bin/sh\n")
	} else if len(existing) == 0 {
		existing = []byte("root:x:0:\n")
	}
	for _, l := range strings.Split(string(existing), "\n") {
		fields := strings.Split(l, ":")
		if len(fields) < 3 {
			continue
		}
		n, err := strconv.Atoi(fields[2])
		if err != nil {
			continue
		}
		switch {
		case fields[0] == name && n == id:
			return existing, nil
		case fields[0] == name:
			return nil, fmt.Errorf("base %s already has %s with id %d, not %d: choose another user in [tool.kiln] user", file, name, n, id)
		case n == id:
			return nil, fmt.Errorf("base %s already uses id %d for %s: choose another uid/gid in [tool.kiln] user", file, id, fields[0])
		}
	}
	out := bytes.TrimRight(existing, "\n")
	out = append(out, '\n')
	out = append(out, line...)
	return append(out, '\n'), nil
}
