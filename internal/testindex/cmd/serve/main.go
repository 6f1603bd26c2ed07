// Command serve runs kiln's test package index over a directory of wheels
// and can write a project's uv.lock against it first:
//
//	go run ./internal/testindex/cmd/serve -dir /tmp/kiln-wheels \
//	    -addr 127.0.0.1:3141 -uvlock examples/flask-service
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/kiln-build/kiln/internal/testindex"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3141", "address to listen on")
	dir := flag.String("dir", "wheels", "directory of *.whl files to serve")
	project := flag.String("uvlock", "", "project directory whose uv.lock to write for this index before serving")
	auth := flag.String("auth", "", "require HTTP basic auth, as user:password")
	flag.Parse()

	host, port, err := net.SplitHostPort(*addr)
	if err != nil || port == "0" || host == "" {
		fail(fmt.Errorf("-addr %q: need host:port with a fixed port (the URL goes into uv.lock)", *addr))
	}
	indexURL := "http://" + *addr + "/simple"
	var opts []testindex.Option
	if *auth != "" {
		user, pass, ok := strings.Cut(*auth, ":")
		if !ok {
			fail(fmt.Errorf("-auth: want user:password"))
		}
		opts = append(opts, testindex.WithBasicAuth(user, pass))
	}
	if *project != "" {
		root, err := testindex.ReadRootSpec(*project)
		if err != nil {
			fail(err)
		}
		if err := testindex.WriteUVLock(*project, indexURL, *dir, root); err != nil {
			fail(err)
		}
		fmt.Fprintf(os.Stderr, "serve: wrote %s/uv.lock\n", *project)
	}
	fmt.Fprintf(os.Stderr, "serve: index at %s/\n", indexURL)
	fail(testindex.Serve(*addr, *dir, opts...))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "serve:", err)
	os.Exit(1)
}
