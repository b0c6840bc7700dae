// Command zhengzhao runs the electronic license and seal platform.
package main

import (
	"context"
	"os"

	"github.com/zhengzhao/zhengzhao/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
