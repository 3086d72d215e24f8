// Command trailwatch watches AWS CloudTrail and alerts on security-relevant
// activity. It runs as an AWS Lambda function when started by the Lambda
// runtime (AWS_LAMBDA_RUNTIME_API is set), and as a command-line tool
// otherwise.
package main

import (
	"os"

	"github.com/trailwatch/trailwatch/internal/cli"
	"github.com/trailwatch/trailwatch/internal/lambda"
)

func main() {
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		os.Exit(lambda.Main())
	}
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
