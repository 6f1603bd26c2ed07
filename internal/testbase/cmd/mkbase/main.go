// Command mkbase builds the test base image cache of package testbase, so
// that tests find it ready: it prints the path of the OCI layout, then that
// of the amd64 docker archive, one per line. Progress goes to stderr.
//
//	go run ./internal/testbase/cmd/mkbase
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/kiln-build/kiln/internal/testbase"
)

func main() {
	start := time.Now()
	lp, err := testbase.BuildLayout(os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkbase:", err)
		os.Exit(1)
	}
	ap, err := testbase.BuildDockerArchive(os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkbase:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "mkbase: cache ready in %s\n", time.Since(start).Round(time.Second))
	fmt.Println(lp)
	fmt.Println(ap)
}
