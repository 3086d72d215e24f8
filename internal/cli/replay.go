package cli

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/spf13/cobra"

	"github.com/trailwatch/trailwatch/internal/ingest/archive"
	"github.com/trailwatch/trailwatch/internal/replay"
)

func newReplayCmd() *cobra.Command {
	var (
		inputs inputFlags
		queue  string
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "replay s3://BUCKET/PREFIX --queue QUEUE",
		Short: "Have the deployed Lambda functions read archived log files",
		Long: `replay lists the CloudTrail log files under an S3 prefix (narrowed by
--since, --until, --account and --region, as check lists them) and sends the
deployed trailwatch queue one S3 event notification per file, the same
message S3 sends when CloudTrail delivers a file. The Lambda functions then
read the archive in parallel, with the deployed rules, detector state and
once-only delivery: alerts for the replayed events are sent unless they were
already delivered within state.ttl.

--queue is the queue's URL or ARN (the stack's LogFileQueueArn output).
--dry-run counts the files and bytes and sends nothing. The exit status is 1
when a notification could not be sent or a listing failed; each is named.
See docs/deploy.md for the cost and the permissions it needs.`,
		Example: `  trailwatch replay s3://org-trail/AWSLogs/ --since 2024-01-01 --until 2024-04-01 --queue "$QUEUE_ARN" --dry-run
  trailwatch replay s3://org-trail/AWSLogs/ --since 90d --account 111122223333 --queue "$QUEUE_ARN"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			uri := args[0]
			if !strings.HasPrefix(uri, "s3://") {
				return fmt.Errorf("%q is not an S3 prefix: replay reads s3://bucket/prefix/", uri)
			}
			if queue == "" && !dryRun {
				return errors.New("--queue is required (the queue's URL or ARN), unless --dry-run")
			}
			in, err := inputs.open(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			bucket, prefix, err := archive.ParseURI(uri)
			if err != nil {
				return err
			}
			s3c, err := in.s3.forBucket(ctx, bucket)
			if err != nil {
				return err
			}
			src, err := archive.New(s3c, archive.Options{
				Since: in.sel.since, Until: in.sel.until, Accounts: in.sel.accounts, Regions: in.sel.regions,
			})
			if err != nil {
				return err
			}
			o := replay.Options{Region: s3c.Options().Region, Concurrency: in.sel.concurrency, DryRun: dryRun}
			var sender replay.Sender
			if !dryRun {
				cfg, err := in.s3.config(ctx)
				if err != nil {
					return err
				}
				region, queueURL, byARN, err := queueAddress(queue)
				if err != nil {
					return err
				}
				client := sqs.NewFromConfig(cfg, func(so *sqs.Options) {
					if region != "" {
						so.Region = region
					}
				})
				if byARN != nil {
					out, err := client.GetQueueUrl(ctx, byARN)
					if err != nil {
						return fmt.Errorf("find the queue %s: %w", queue, err)
					}
					queueURL = aws.ToString(out.QueueUrl)
				}
				o.QueueURL, sender = queueURL, client
			}
			errw := cmd.ErrOrStderr()
			st, runErr := replay.Run(ctx, src.Objects(ctx, bucket, prefix), sender, o)
			for _, e := range st.ListErrors {
				fmt.Fprintf(errw, "trailwatch: %s\n", clean(e.Error()))
			}
			for _, f := range st.Failed {
				fmt.Fprintf(errw, "trailwatch: not sent: %s\n", clean(f))
			}
			mib := float64(st.Bytes) / (1 << 20)
			if dryRun {
				fmt.Fprintf(cmd.OutOrStdout(), "%s (%.1f MiB) under %s: replay would send %s in %s\n",
					countOf(st.Objects, "log file"), mib, uri, countOf(st.Objects, "notification"),
					countOf((st.Objects+replay.BatchSize-1)/replay.BatchSize, "SendMessageBatch call"))
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "sent %s for %s (%.1f MiB) under %s in %s\n",
					countOf(st.Sent, "notification"), countOf(st.Objects, "log file"), mib, uri, countOf(st.Calls, "SendMessageBatch call"))
			}
			if runErr != nil {
				return &ExitError{Code: 1, Err: runErr}
			}
			return nil
		},
	}
	inputs.register(cmd)
	cmd.Flags().StringVar(&queue, "queue", "", "the deployed log-file queue: its URL, or its ARN (the stack's LogFileQueueArn output)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "count the log files and bytes, send nothing")
	return cmd
}

// queueAddress reads --queue: a queue URL (whose host names the region)
// or an ARN, which is looked up with GetQueueUrl. FIFO queues are refused:
// S3 notifies only standard queues, and the stack deploys one.
func queueAddress(q string) (region, queueURL string, byARN *sqs.GetQueueUrlInput, err error) {
	if strings.HasSuffix(q, ".fifo") {
		return "", "", nil, fmt.Errorf("--queue %s is a FIFO queue; replay sends to the standard log-file queue the stack deploys", q)
	}
	if rest, ok := strings.CutPrefix(q, "arn:"); ok {
		parts := strings.Split(rest, ":")
		if len(parts) != 5 || parts[1] != "sqs" || parts[2] == "" || parts[3] == "" || parts[4] == "" {
			return "", "", nil, fmt.Errorf("--queue %s is not an SQS queue ARN (arn:aws:sqs:REGION:ACCOUNT:NAME)", q)
		}
		return parts[2], "", &sqs.GetQueueUrlInput{QueueName: aws.String(parts[4]), QueueOwnerAWSAccountId: aws.String(parts[3])}, nil
	}
	u, perr := url.Parse(q)
	if perr != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || strings.Count(strings.Trim(u.Path, "/"), "/") != 1 {
		return "", "", nil, fmt.Errorf("--queue %s is neither a queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME) nor a queue ARN", q)
	}
	host := u.Hostname()
	switch {
	case strings.HasPrefix(host, "sqs.") && strings.Count(host, ".") >= 3:
		region = strings.Split(host, ".")[1]
	case strings.HasSuffix(host, ".queue.amazonaws.com"):
		region = strings.TrimSuffix(host, ".queue.amazonaws.com")
	}
	return region, q, nil, nil
}
