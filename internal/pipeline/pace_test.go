package pipeline

import (
	"context"
	"testing"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/notify"
	"github.com/trailwatch/trailwatch/internal/render"
)

func TestReceiversArePaced(t *testing.T) {
	n := notify.Func(func(context.Context, *render.Payload, *render.Group) (bool, error) { return false, nil })
	for _, tt := range []struct {
		r    *config.Receiver
		want string
	}{
		{&config.Receiver{Slack: &config.Slack{}}, "1/s, burst 3"},
		{&config.Receiver{Slack: &config.Slack{}, Rate: &config.Rate{PerSecond: 0.5, Burst: 2}}, "0.5/s, burst 2"},
		{&config.Receiver{Webhook: &config.Webhook{}, Rate: &config.Rate{PerSecond: 40}}, "40/s, burst 1"},
		{&config.Receiver{Email: &config.Email{}}, "1/s, burst 1"},
		{&config.Receiver{Stdout: &config.Stdout{}}, "unlimited"},
	} {
		got := "unlimited"
		if p, ok := paced(n, tt.r, nil).(*notify.Paced); ok {
			got = p.Limiter.Rate().String()
		}
		if got != tt.want {
			t.Errorf("%s receiver with rate %+v is paced at %s, want %s", tt.r.Kind(), tt.r.Rate, got, tt.want)
		}
	}
}
