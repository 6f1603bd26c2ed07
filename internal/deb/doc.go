// Package deb reads Debian package metadata: deb822 control paragraphs
// (Packages indexes, the dpkg status database, DEBIAN/control), version
// strings with dpkg's ordering, and relation fields such as Depends.
package deb
