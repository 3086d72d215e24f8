//go:build !unix

package cli

import "os"

// terminalWidth reports no terminal where the size cannot be asked for:
// output is then laid out for a file, at full width and without progress.
func terminalWidth(*os.File) (int, bool) { return 0, false }
