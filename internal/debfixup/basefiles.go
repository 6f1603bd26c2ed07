package debfixup

// baseFiles replicates base-files' postinst on a first install: default
// dotfiles and /etc files, the directories it creates with their owners,
// /var/run and /var/lock turned into links to /run, /usr/local, and the
// login record files.
func baseFiles(s *state) (string, error) {
	v := s.v
	if !s.has("base-files", "/usr/share/base-files/profile") {
		return "", nil
	}
	var err error
	if !v.exists("/etc/dpkg/origins/default") && v.exists("/etc/dpkg/origins/debian") {
		if err := v.symlink("/etc/dpkg/origins/default", "debian"); err != nil {
			return "", err
		}
	}
	for _, f := range [][2]string{
		{"dot.profile", "/root/.profile"},
		{"dot.bashrc", "/root/.bashrc"},
		{"profile", "/etc/profile"},
		{"motd", "/etc/motd"},
	} {
		if err := copyDefault(v, f[0], f[1]); err != nil {
			return "", err
		}
	}
	for _, d := range []struct {
		path  string
		mode  uint32
		group string
	}{
		{"/mnt", 0o755, "root"}, {"/srv", 0o755, "root"}, {"/opt", 0o755, "root"},
		{"/etc/opt", 0o755, "root"}, {"/var/opt", 0o755, "root"}, {"/media", 0o755, "root"},
		{"/var/mail", 0o2775, "mail"}, {"/run/lock", 0o1777, "root"},
	} {
		if v.isDir(d.path) {
			continue
		}
		gid, err := s.gid(d.group)
		if err != nil {
			return "", err
		}
		if err := v.mkdir(d.path, d.mode, 0, gid); err != nil {
			return "", err
		}
	}
	if _, isLink := v.readlink("/var/spool/mail"); !isLink {
		if err := v.symlink("/var/spool/mail", "../mail"); err != nil {
			return "", err
		}
	}
	// migrate_directory: the package ships them as directories.
	for _, m := range [][2]string{{"/var/run", "/run"}, {"/var/lock", "/run/lock"}} {
		if _, isLink := v.readlink(m[0]); isLink {
			continue
		}
		if err := v.symlink(m[0], m[1]); err != nil {
			return "", err
		}
	}
	// install_local_dir: mkdir -p, then root:staff 2775 only when the admin
	// asked for it with /etc/staff-group-for-usr-local.
	staff := -1
	if v.exists("/etc/staff-group-for-usr-local") {
		if staff, err = s.gid("staff"); err != nil {
			return "", err
		}
	}
	for _, d := range []string{"", "/share", "/share/man", "/bin", "/games", "/lib", "/include", "/sbin", "/src", "/etc"} {
		p := "/usr/local" + d
		switch {
		case staff >= 0:
			err = v.mkdir(p, 0o2775, 0, staff)
		case !v.isDir(p):
			err = v.mkdir(p, 0o755, 0, 0)
		}
		if err != nil {
			return "", err
		}
	}
	if err := v.symlink("/usr/local/man", "share/man"); err != nil {
		return "", err
	}
	utmp, err := s.gid("utmp")
	if err != nil {
		return "", err
	}
	for _, f := range []struct {
		path string
		mode uint32
	}{{"/var/log/wtmp", 0o664}, {"/var/log/btmp", 0o660}, {"/var/log/lastlog", 0o664}} {
		data, _ := v.readFile(f.path)
		if err := v.writeFile(f.path, f.mode, 0, utmp, data); err != nil {
			return "", err
		}
	}
	if v.isDir("/usr/share/info") && !v.exists("/usr/info/dir") && !v.exists("/usr/share/info/dir") {
		if err := copyDefault(v, "info.dir", "/usr/share/info/dir"); err != nil {
			return "", err
		}
	}
	return "base-files: default files, directories and links of the postinst", nil
}

// copyDefault copies /usr/share/base-files/<name> to dst unless dst exists.
func copyDefault(v *view, name, dst string) error {
	if v.isFile(dst) {
		return nil
	}
	data, ok := v.readFile("/usr/share/base-files/" + name)
	if !ok {
		return nil
	}
	return v.writeFile(dst, 0o644, 0, 0, data)
}
