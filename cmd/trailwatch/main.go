// Command trailwatch watches AWS CloudTrail and alerts on security-relevant
// activity. It runs as an AWS Lambda function when started by the Lambda
// runtime, and as a command-line tool otherwise.
package main

import (
	"os"

	"github.com/trailwatch/trailwatch/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
