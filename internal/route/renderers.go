package route

import (
	"fmt"
	"time"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/render"
)

// Renderers renders each receiver's messages with that receiver's own
// templates and mentions, and the configuration's locale, time zone and
// account names. Safe for concurrent use.
type Renderers struct {
	byName map[string]*render.Renderer
}

// NewRenderers builds one render.Renderer per receiver of c. A template
// that does not parse is an error naming the receiver's line in the file.
// now is the clock for rendered timestamps; nil means time.Now.
func NewRenderers(c *config.Config, maxAlerts int, now func() time.Time) (*Renderers, error) {
	rs := &Renderers{byName: make(map[string]*render.Renderer, len(c.Receivers))}
	var errs []error
	for i, r := range c.Receivers {
		o := RenderOptions(c, r)
		o.MaxAlerts, o.Now = maxAlerts, now
		rr, err := render.New(o)
		if err != nil {
			errs = append(errs, c.Errorf(fmt.Sprintf("receivers[%d].templates", i), "%v", err))
			continue
		}
		rs.byName[r.Name] = rr
	}
	if len(errs) > 0 {
		return nil, joinLines(errs)
	}
	return rs, nil
}

// RenderOptions returns the render options for receiver r of c: locale,
// time zone, account names, the receiver's mentions (Slack kinds; nil keeps
// render's defaults), its templates and, for slackbot, its channel.
func RenderOptions(c *config.Config, r *config.Receiver) render.Options {
	o := render.Options{
		Locale:       c.Locale,
		Location:     c.Location,
		AccountNames: c.Accounts,
		Templates:    r.Templates,
	}
	var m *config.Mentions
	switch {
	case r.Slack != nil:
		m = r.Slack.Mentions
	case r.SlackBot != nil:
		m = r.SlackBot.Mentions
		o.SlackChannels = map[string]string{r.Name: r.SlackBot.Channel}
	}
	if m != nil {
		o.Mentions = &render.Mentions{BySeverity: m.BySeverity, FailedLogin: m.FailedLogin}
	}
	return o
}

// Render implements Renderer.
func (rs *Renderers) Render(kind, receiver string, g *render.Group) (*render.Payload, error) {
	r, ok := rs.byName[receiver]
	if !ok {
		return nil, fmt.Errorf("render: receiver %q is not configured", receiver)
	}
	return r.Render(kind, receiver, g)
}
