package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/notify"
	"github.com/trailwatch/trailwatch/internal/notify/email"
	"github.com/trailwatch/trailwatch/internal/notify/slack"
	"github.com/trailwatch/trailwatch/internal/notify/slackbot"
	"github.com/trailwatch/trailwatch/internal/notify/sns"
	"github.com/trailwatch/trailwatch/internal/notify/stdout"
	"github.com/trailwatch/trailwatch/internal/notify/teams"
	"github.com/trailwatch/trailwatch/internal/notify/webhook"
	"github.com/trailwatch/trailwatch/internal/secret"
	"github.com/trailwatch/trailwatch/internal/state"
)

// receiverEnv is what a receiver constructor may use.
type receiverEnv struct {
	deps    Deps
	secrets *secret.Resolver
	store   state.Store
}

// resolve turns a config secret reference into the secret.
func (e *receiverEnv) resolve(ctx context.Context, s config.Secret) (secret.Secret, error) {
	if s.IsZero() {
		return secret.Secret{}, nil
	}
	return e.secrets.ResolveString(ctx, s.Ref())
}

// newReceiverFunc builds the Notifier for one configured receiver.
type newReceiverFunc func(ctx context.Context, e *receiverEnv, r *config.Receiver) (notify.Notifier, error)

// receiverKinds is the registry of receiver kinds: every kind the
// configuration accepts, mapped to the constructor that builds it.
func receiverKinds() map[string]newReceiverFunc {
	return map[string]newReceiverFunc{
		config.KindSlack:    newSlack,
		config.KindSlackBot: newSlackBot,
		config.KindTeams:    newTeams,
		config.KindWebhook:  newWebhook,
		config.KindSNS:      newSNS,
		config.KindEmail:    newEmail,
		config.KindStdout:   newStdout,
	}
}

// buildReceivers constructs every configured receiver through the registry
// and returns every failure, each naming the receiver and its line.
func buildReceivers(ctx context.Context, cfg *config.Config, deps Deps, store state.Store) (map[string]notify.Notifier, error) {
	env := &receiverEnv{
		deps:  deps,
		store: store,
		secrets: secret.NewResolver(secret.Options{
			SSM: deps.SSM, SecretsManager: deps.SecretsManager, KMS: deps.KMS,
		}),
	}
	kinds := receiverKinds()
	out := make(map[string]notify.Notifier, len(cfg.Receivers))
	var errs []error
	for i, r := range cfg.Receivers {
		path := fmt.Sprintf("receivers[%d]", i)
		build, ok := kinds[r.Kind()]
		if !ok {
			errs = append(errs, cfg.Errorf(path, "receiver %q has kind %q, which this build cannot send to", r.Name, r.Kind()))
			continue
		}
		n, err := build(ctx, env, r)
		if err != nil {
			errs = append(errs, cfg.Errorf(path+"."+r.Kind(), "receiver %q: %v", r.Name, err))
			continue
		}
		out[r.Name] = paced(n, r, deps.Now)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func newSlack(ctx context.Context, e *receiverEnv, r *config.Receiver) (notify.Notifier, error) {
	url, err := e.resolve(ctx, r.Slack.WebhookURL)
	if err != nil {
		return nil, err
	}
	return slack.New(slack.Options{URL: url, Client: e.deps.HTTPClient})
}

func newSlackBot(ctx context.Context, e *receiverEnv, r *config.Receiver) (notify.Notifier, error) {
	token, err := e.resolve(ctx, r.SlackBot.Token)
	if err != nil {
		return nil, err
	}
	return slackbot.New(slackbot.Options{
		Token:   token,
		Channel: r.SlackBot.Channel,
		Client:  e.deps.HTTPClient,
		APIURL:  e.deps.SlackAPIURL,
		Store:   e.store,
		Logger:  e.deps.Logger,
	})
}

func newTeams(ctx context.Context, e *receiverEnv, r *config.Receiver) (notify.Notifier, error) {
	url, err := e.resolve(ctx, r.Teams.WebhookURL)
	if err != nil {
		return nil, err
	}
	return teams.New(teams.Options{URL: url, Client: e.deps.HTTPClient})
}

func newWebhook(ctx context.Context, e *receiverEnv, r *config.Receiver) (notify.Notifier, error) {
	w := r.Webhook
	headers := make(map[string]secret.Secret, len(w.Headers)+len(w.SecretHeaders))
	for k, v := range w.Headers {
		headers[k] = secret.New(v)
	}
	var errs []error
	for k, ref := range w.SecretHeaders {
		v, err := e.resolve(ctx, ref)
		if err != nil {
			errs = append(errs, fmt.Errorf("header %s: %w", k, err))
			continue
		}
		headers[k] = v
	}
	url, err := e.resolve(ctx, w.URL)
	if err != nil {
		errs = append(errs, fmt.Errorf("url: %w", err))
	}
	key, err := e.resolve(ctx, w.HMACSecret)
	if err != nil {
		errs = append(errs, fmt.Errorf("hmac_secret: %w", err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return webhook.New(webhook.Options{
		URL: url, Method: w.Method, Headers: headers, SigningKey: key,
		Client: e.deps.HTTPClient, Now: e.deps.Now,
	})
}

func newSNS(_ context.Context, e *receiverEnv, r *config.Receiver) (notify.Notifier, error) {
	client := e.deps.SNS
	// A topic is published to in its own region, which its ARN names
	// (arn:aws:sns:REGION:ACCOUNT:NAME).
	if parts := strings.Split(r.SNS.TopicARN, ":"); len(parts) == 6 && e.deps.snsForRegion != nil {
		client = e.deps.snsForRegion(parts[3])
	}
	if client == nil {
		return nil, errors.New("no SNS client (no AWS configuration was given)")
	}
	return sns.New(sns.Options{Client: client, TopicARN: r.SNS.TopicARN, JSON: r.SNS.Format == config.FormatJSON})
}

func newEmail(ctx context.Context, e *receiverEnv, r *config.Receiver) (notify.Notifier, error) {
	m := r.Email
	if m.SES != nil {
		if e.deps.SES == nil {
			return nil, errors.New("no SES client (no AWS configuration was given)")
		}
		return email.NewSES(email.SESOptions{
			Client: e.deps.SES(m.SES.Region), From: m.From, To: m.To, CC: m.CC,
			ConfigurationSet: m.SES.ConfigurationSet,
		})
	}
	password, err := e.resolve(ctx, m.SMTP.Password)
	if err != nil {
		return nil, err
	}
	return email.NewSMTP(email.SMTPOptions{
		Addr: net.JoinHostPort(m.SMTP.Host, strconv.Itoa(m.SMTP.Port)),
		From: m.From, To: m.To, CC: m.CC,
		Username: m.SMTP.Username, Password: password,
		TLS: m.SMTP.TLS, Now: e.deps.Now,
	})
}

func newStdout(_ context.Context, e *receiverEnv, r *config.Receiver) (notify.Notifier, error) {
	return stdout.New(stdout.Options{W: e.deps.Stdout, Text: r.Stdout.Format != config.FormatJSON})
}

// fillAWSClients makes the AWS clients not given from the base AWS
// configuration, when there is one.
func (d *Deps) fillAWSClients() {
	if d.AWS == nil {
		return
	}
	cfg := *d.AWS
	if d.SSM == nil {
		d.SSM = ssm.NewFromConfig(cfg)
	}
	if d.SecretsManager == nil {
		d.SecretsManager = secretsmanager.NewFromConfig(cfg)
	}
	if d.KMS == nil {
		d.KMS = kms.NewFromConfig(cfg)
	}
	if d.SNS == nil {
		d.SNS = awssns.NewFromConfig(cfg)
		d.snsForRegion = func(region string) sns.API {
			return awssns.NewFromConfig(cfg, func(o *awssns.Options) {
				if region != "" {
					o.Region = region
				}
			})
		}
	}
	if d.SES == nil {
		d.SES = func(region string) email.SESAPI {
			return sesv2.NewFromConfig(cfg, func(o *sesv2.Options) {
				if region != "" {
					o.Region = region
				}
			})
		}
	}
	if d.DynamoDB == nil {
		// Bounded retries and attempts: an unreachable table must fail a
		// call in about a second, not eat the invocation.
		d.DynamoDB = dynamodb.NewFromConfig(cfg, state.DynamoDBOptions)
	}
}
