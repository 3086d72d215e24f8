// Package sns publishes payloads to an Amazon SNS topic.
//
// The message is the payload's readable text (Payload.Text), or, with
// Options.JSON, the payload body sent with MessageStructure=json so that
// each protocol (email, sqs, lambda, https) gets its own form. The subject
// is the payload's subject made to fit SNS's rules (one line, under 100
// characters). Payload.Attributes become String message attributes for
// subscription filter policies. On a FIFO topic (ARN ending in ".fifo") the
// message group id is a hash of the group key, so one group's messages
// stay in order, and the deduplication id is a hash of the group key and
// the message, so a retried publish is delivered once while a new message
// for the same group is not mistaken for a duplicate.
package sns

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/trailwatch/trailwatch/internal/notify"
	"github.com/trailwatch/trailwatch/internal/render"
)

// API is the part of the SNS client the receiver uses (*sns.Client).
type API interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Options configure an SNS receiver.
type Options struct {
	// Client publishes; required.
	Client API
	// TopicARN is the topic; required.
	TopicARN string
	// JSON sends Payload.Body with MessageStructure=json instead of the
	// readable text.
	JSON bool
}

// Notifier publishes to one topic. Safe for concurrent use.
type Notifier struct {
	o    Options
	fifo bool
}

// New checks o and returns a Notifier.
func New(o Options) (*Notifier, error) {
	if o.Client == nil {
		return nil, errors.New("sns: no SNS client")
	}
	if !strings.HasPrefix(o.TopicARN, "arn:") || strings.Count(o.TopicARN, ":") != 5 {
		return nil, fmt.Errorf("sns: topic %q is not a topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)", o.TopicARN)
	}
	return &Notifier{o: o, fifo: strings.HasSuffix(o.TopicARN, ".fifo")}, nil
}

// Notify implements notify.Notifier.
func (n *Notifier) Notify(ctx context.Context, p *render.Payload, g *render.Group) (bool, error) {
	in := &sns.PublishInput{TopicArn: aws.String(n.o.TopicARN)}
	if n.o.JSON {
		in.Message, in.MessageStructure = aws.String(string(p.Body)), aws.String("json")
	} else {
		msg := p.Text
		if msg == "" {
			msg = string(p.Body)
		}
		in.Message = aws.String(msg)
	}
	if *in.Message == "" {
		return false, errors.New("sns message is empty")
	}
	if s := Subject(p.Subject); s != "" {
		in.Subject = aws.String(s)
	}
	for _, k := range slices.Sorted(maps.Keys(p.Attributes)) {
		v := p.Attributes[k]
		if v == "" {
			continue // SNS refuses empty attribute values
		}
		if in.MessageAttributes == nil {
			in.MessageAttributes = map[string]types.MessageAttributeValue{}
		}
		in.MessageAttributes[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	for _, k := range slices.Sorted(maps.Keys(p.ListAttributes)) {
		vs := p.ListAttributes[k]
		if len(vs) == 0 {
			continue
		}
		list, err := json.Marshal(vs)
		if err != nil {
			return false, fmt.Errorf("sns attribute %s: %w", k, err)
		}
		if in.MessageAttributes == nil {
			in.MessageAttributes = map[string]types.MessageAttributeValue{}
		}
		in.MessageAttributes[k] = types.MessageAttributeValue{DataType: aws.String("String.Array"), StringValue: aws.String(string(list))}
	}
	if n.fifo {
		key := p.Receiver
		if g != nil {
			key = g.Key
		}
		in.MessageGroupId = aws.String(hash(key))
		in.MessageDeduplicationId = aws.String(hash(key + "\x00" + aws.ToString(in.Subject) + "\x00" + *in.Message))
	}
	if _, err := n.o.Client.Publish(ctx, in); err != nil {
		var creds aws.CredentialsProvider
		if c, ok := n.o.Client.(interface{ Options() sns.Options }); ok {
			creds = c.Options().Credentials
		}
		return notify.AWSRetryable(err), fmt.Errorf("sns publish to %s failed: %w", n.o.TopicARN, notify.RedactAWS(ctx, creds, err))
	}
	return false, nil
}

// Subject makes s a valid SNS subject: control characters and line breaks
// become spaces, runs of spaces one space, and a subject of 100 characters
// or more is cut to 96 and "..." (SNS wants fewer than 100; the ASCII
// ellipsis keeps an ASCII subject ASCII).
func Subject(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) < 100 {
		return s
	}
	r := []rune(s)
	return string(r[:96]) + "..."
}

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
