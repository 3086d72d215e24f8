// Command lambdazip packs a Lambda "bootstrap" executable into a deployment
// zip that is byte-for-byte reproducible: fixed entry order, modification
// time and permissions, so the same binary always gives the same zip and the
// same CodeSha256.
//
//	go run ./tools/lambdazip -o dist/lambda.zip dist/bootstrap
package main

import (
	"archive/zip"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// epoch is the modification time written for every entry (the zip format
// cannot store times before 1980).
var epoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

func main() {
	out := flag.String("o", "", "output zip `file`")
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: lambdazip -o OUT.zip FILE...")
		os.Exit(2)
	}
	if err := write(*out, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "lambdazip:", err)
		os.Exit(1)
	}
}

func write(out string, files []string) (err error) {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	return pack(f, files)
}

// pack writes files, named by their base names, in the given order.
func pack(w io.Writer, files []string) error {
	zw := zip.NewWriter(w)
	for _, name := range files {
		src, err := os.Open(name)
		if err != nil {
			return err
		}
		h := &zip.FileHeader{Name: filepath.Base(name), Method: zip.Deflate, Modified: epoch}
		// Executable for everyone, as the Lambda runtime requires of bootstrap.
		h.SetMode(0o755)
		dst, err := zw.CreateHeader(h)
		if err == nil {
			_, err = io.Copy(dst, src)
		}
		if cerr := src.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return zw.Close()
}
