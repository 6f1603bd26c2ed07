// Command mkwheels builds kiln's test wheelhouse into a directory, for the
// flask-service example and for trying kiln by hand:
//
//	go run ./internal/testwheels/cmd/mkwheels -o /tmp/kiln-wheels
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/kiln-build/kiln/internal/testwheels"
)

func main() {
	out := flag.String("o", "wheels", "directory to write the wheels into")
	flag.Parse()
	start := time.Now()
	if err := testwheels.Build(*out); err != nil {
		fmt.Fprintln(os.Stderr, "mkwheels:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "mkwheels: wrote %s in %s\n", *out, time.Since(start).Round(time.Millisecond))
}
