// compose-config: loads compose files the way Docker Compose does (compose-go, its own
// loader: schema validation, interpolation, merge keys, extends, depends_on checks) and
// prints the resulting model as YAML, like `docker compose config`. A file that Compose
// would refuse makes it exit 1 with Compose's message. Used by
// tests/integration/deploy.test.mjs; built by scripts/tools.
//
//	compose-config FILE... (environment variables interpolate as in Compose)
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-config FILE...")
		os.Exit(2)
	}
	opts, err := cli.NewProjectOptions(os.Args[1:], cli.WithOsEnv, cli.WithDotEnv,
		cli.WithName("roomcast"))
	if err == nil {
		var out []byte
		p, lerr := opts.LoadProject(context.Background())
		if err = lerr; err == nil {
			if out, err = p.MarshalYAML(); err == nil {
				os.Stdout.Write(out)
				return
			}
		}
	}
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
