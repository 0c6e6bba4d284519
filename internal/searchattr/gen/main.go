// Command gen writes the search attributes of package searchattr to the
// file that deploy/stack.sh registers them from (go generate ./internal/searchattr).
package main

import (
	"fmt"
	"os"

	"github.com/shopkit/shop/internal/searchattr"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gen FILE")
		os.Exit(2)
	}
	if err := os.WriteFile(os.Args[1], []byte(searchattr.File()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
