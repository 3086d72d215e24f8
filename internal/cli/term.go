package cli

import (
	"io"
	"os"
	"strconv"
	"strings"
)

// output describes where a command's output goes: how wide it may be and
// whether a person watches it on a terminal.
type output struct {
	// width is the columns a table line may take; 0 means no limit (a
	// file or a pipe, unless COLUMNS says otherwise).
	width int
	// terminal is set when w is a terminal.
	terminal bool
}

// outputOf looks at w: a terminal's width, or COLUMNS when it is set to a
// positive number, which wins so that a user or a test can choose the
// width (COLUMNS=80 trailwatch check ... | less).
func outputOf(w io.Writer, getenv func(string) string) output {
	var o output
	if f, ok := w.(*os.File); ok {
		o.width, o.terminal = terminalWidth(f)
	}
	if c := strings.TrimSpace(getenv("COLUMNS")); c != "" {
		if n, err := strconv.Atoi(c); err == nil && n > 0 {
			o.width = n
		}
	}
	return o
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, t := terminalWidth(f)
	return t
}
