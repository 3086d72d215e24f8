package email

import (
	"context"
	"errors"
	"fmt"
	"net/mail"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/trailwatch/trailwatch/internal/notify"
	"github.com/trailwatch/trailwatch/internal/render"
)

// SESAPI is the part of the SES v2 client the receiver uses (*sesv2.Client).
type SESAPI interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, optFns ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// SESOptions configure an SES receiver.
type SESOptions struct {
	// Client sends; required.
	Client SESAPI
	// From is a verified identity, optionally with a name:
	// "trailwatch <alerts@example.com>".
	From string
	// To and CC list recipients; To needs at least one.
	To, CC []string
	// ConfigurationSet names an SES configuration set (optional).
	ConfigurationSet string
}

// SES sends through Amazon SES. Safe for concurrent use.
type SES struct {
	o      SESOptions
	from   string
	to, cc []string
}

// NewSES checks o and returns an SES receiver.
func NewSES(o SESOptions) (*SES, error) {
	if o.Client == nil {
		return nil, errors.New("ses: no SES client")
	}
	f, t, c, err := addresses("ses", o.From, o.To, o.CC)
	if err != nil {
		return nil, err
	}
	return &SES{o: o, from: format(f), to: strs(t), cc: strs(c)}, nil
}

// Notify implements notify.Notifier.
func (s *SES) Notify(ctx context.Context, p *render.Payload, _ *render.Group) (bool, error) {
	if err := checkPayload("ses", p); err != nil {
		return false, err
	}
	body := &types.Body{}
	if p.Text != "" {
		body.Text = &types.Content{Data: aws.String(p.Text), Charset: aws.String("UTF-8")}
	}
	if p.HTML != "" {
		body.Html = &types.Content{Data: aws.String(p.HTML), Charset: aws.String("UTF-8")}
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(s.from),
		Destination:      &types.Destination{ToAddresses: s.to, CcAddresses: s.cc},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(p.Subject), Charset: aws.String("UTF-8")},
			Body:    body,
		}},
	}
	if s.o.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(s.o.ConfigurationSet)
	}
	if _, err := s.o.Client.SendEmail(ctx, in); err != nil {
		var creds aws.CredentialsProvider
		if c, ok := s.o.Client.(interface{ Options() sesv2.Options }); ok {
			creds = c.Options().Credentials
		}
		return notify.AWSRetryable(err), fmt.Errorf("ses send from %s failed: %w", s.from, notify.RedactAWS(ctx, creds, err))
	}
	return false, nil
}

func strs(as []*mail.Address) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = format(a)
	}
	return out
}
