// Package email sends payloads as email with a text and an HTML part,
// through Amazon SES (API v2, SendEmail with simple content) or any SMTP
// server (STARTTLS required unless explicitly disabled on a loopback
// address; PLAIN or LOGIN authentication).
//
// Addresses are checked when the receiver is built; a subject holding a
// line break is refused at send time, so no header can ever be injected.
package email

import (
	"fmt"
	"net/mail"
	"strings"

	"github.com/trailwatch/trailwatch/internal/render"
)

// addresses parses the sender and recipients. Each may be "a@example.com"
// or "Name <a@example.com>".
func addresses(kind, from string, to, cc []string) (*mail.Address, []*mail.Address, []*mail.Address, error) {
	f, err := address(kind, "from", from)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(to) == 0 {
		return nil, nil, nil, fmt.Errorf("%s: no to address", kind)
	}
	parse := func(field string, list []string) ([]*mail.Address, error) {
		var out []*mail.Address
		for _, s := range list {
			a, err := address(kind, field, s)
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		}
		return out, nil
	}
	t, err := parse("to", to)
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := parse("cc", cc)
	if err != nil {
		return nil, nil, nil, err
	}
	return f, t, c, nil
}

func address(kind, field, s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n\x00") {
		return nil, fmt.Errorf("%s: %s address %q holds a line break", kind, field, s)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %s address %q is not an email address: %w", kind, field, s, err)
	}
	return a, nil
}

// checkPayload refuses what must not become a header, and an empty message.
func checkPayload(kind string, p *render.Payload) error {
	if strings.ContainsAny(p.Subject, "\r\n\x00") {
		return fmt.Errorf("%s subject holds a line break or NUL; refusing to send it as a header", kind)
	}
	if p.Text == "" && p.HTML == "" {
		return fmt.Errorf("%s message has neither a text nor an HTML part", kind)
	}
	return nil
}

// format writes an address for a header: bare when it has no name, else
// with the name encoded as RFC 5322 and 2047 require.
func format(a *mail.Address) string {
	if a.Name == "" {
		return a.Address
	}
	return a.String()
}
