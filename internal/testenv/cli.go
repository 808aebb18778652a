package testenv

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// CheckHelp runs a single-command app with --help (name is its argv[0]) and fails the test when a flag shows
// its default twice, or the help offers commands (a command placeholder or a help subcommand).
func CheckHelp(tb testing.TB, app *cli.App, name string) {
	tb.Helper()
	var out strings.Builder
	app.Writer = &out
	if err := app.Run([]string{name, "--help"}); err != nil {
		tb.Fatal(err)
	}
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.Count(l, "(default") > 1 {
			tb.Errorf("default shown twice: %s", l)
		}
	}
	if s := out.String(); strings.Contains(s, "COMMANDS:") || strings.Contains(s, "command [command options]") {
		tb.Errorf("help lists commands:\n%s", s)
	}
}

// RunCLI runs app in-process with argv and returns what it wrote to stdout, its error message and its exit
// status (an ExitCoder's code, 1 for another error). The test sets cli.OsExiter to a no-op first, or the CLI
// library exits the test binary on an ExitCoder. It swaps os.Stdout, so tests using it do not run in parallel.
func RunCLI(tb testing.TB, ctx context.Context, app *cli.App, argv ...string) (out, msg string, code int) {
	tb.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	outc := make(chan string)
	go func() { b, _ := io.ReadAll(r); outc <- string(b) }()
	err = app.RunContext(ctx, argv)
	w.Close()
	os.Stdout = old
	out = <-outc
	var ec cli.ExitCoder
	switch {
	case errors.As(err, &ec):
		code, msg = ec.ExitCode(), ec.Error()
	case err != nil:
		code, msg = 1, err.Error()
	}
	return out, msg, code
}
