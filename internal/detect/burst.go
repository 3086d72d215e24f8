package detect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
)

// hiddenUser is the user name CloudTrail writes for a failed sign-in with a
// user name that does not exist in the account.
const hiddenUser = "HIDDEN_DUE_TO_SECURITY_REASONS"

// burst alerts when Threshold events of one subject (a principal, or a
// source address for spraying) fall in one window. The window opens, in
// event time, at the first counted event and lasts Window; the Threshold-th
// event alerts and later ones in the same window do not.
//
// State per subject: the window start (claimed with PutIfAbsent, moved on
// with CompareAndSwap), a counter per window (Add), and a marker per event
// (or, for spraying, per user name) claimed with PutIfAbsent so that an
// event delivered twice is counted once. The Add that returns exactly
// Threshold raises the alert, so many concurrent observers raise one.
type burst struct {
	base
	what      string
	threshold int64
	window    time.Duration
	codes     []string
}

func (d *burst) wants(o *obs) bool {
	if d.what == BurstAccessDenied {
		return slices.Contains(d.codes, o.ev.ErrorCode())
	}
	return o.name == "ConsoleLogin" && o.ev.LoginResult() == event.LoginFailure
}

func (d *burst) observe(ctx context.Context, o *obs, learn bool) (*event.Alert, error) {
	if learn {
		return nil, nil // bursts are about now, not a baseline
	}
	var subject, member string
	switch d.what {
	case BurstSpraying:
		a, ok := o.sourceAddr()
		if !ok {
			return nil, nil
		}
		subject = safePart(a.String())
		member = o.principalKey()
		if o.principal().Name == hiddenUser || o.principal().Name == "" {
			// Unknown user names all read the same; count each attempt.
			member = "e" + hash(eventKey(o))
		}
	default:
		subject = o.principalKey()
		member = "e" + hash(eventKey(o))
	}
	t := o.time()
	start, err := d.windowStart(ctx, o, subject, t)
	if err != nil || start.IsZero() {
		return nil, err
	}
	ttl := d.set.ttlUntil(start.Add(2*d.window), d.window)
	win := strconv.FormatInt(start.UnixNano(), 10)
	mkey := d.key("m", subject, win, member)
	stored, err := o.st.PutIfAbsent(ctx, mkey, []byte("counted"), ttl)
	if err != nil {
		return nil, err
	}
	if !stored {
		// Counted already: alert again only if this very event was the
		// one that crossed the threshold (a retry); delivery deduplicates.
		v, ok, err := o.st.Get(ctx, mkey)
		if err != nil || !ok || string(v) != "alerted|"+eventKey(o) {
			return nil, err
		}
		return d.raise(o, start, t), nil
	}
	nkey := d.key("n", subject, win)
	n, err := o.st.Add(ctx, nkey, 1, ttl)
	if err != nil {
		// Not counted: forget the marker so that a retry counts it.
		return nil, errors.Join(err, o.st.Delete(ctx, mkey))
	}
	if n != d.threshold {
		return nil, nil
	}
	// This marker is this event's own key: a plain Put cannot lose an
	// update. If it cannot be written, the count is taken back too, so a
	// retry of this event crosses the threshold again instead of finding
	// it counted and the window's one alert lost.
	if err := o.st.Put(ctx, mkey, []byte("alerted|"+eventKey(o)), ttl); err != nil {
		_, aerr := o.st.Add(ctx, nkey, -1, ttl)
		return nil, errors.Join(err, aerr, o.st.Delete(ctx, mkey))
	}
	if _, _, err := o.location(); err != nil {
		// The marker names this event: a retry raises the alert.
		return nil, err
	}
	return d.raise(o, start, t), nil
}

// eventKey identifies the event: its Identity (the eventID with a digest of
// the fields AWS writes on every delivery path), so that a forged record
// reusing a real eventID is counted as itself rather than taking the real
// event's place.
func eventKey(o *obs) string { return o.ev.Identity() }

// windowStart returns the start of the window t falls in for subject,
// opening a new window at t when there is none or the last one has closed.
// It returns the zero time for an event older than the open window by more
// than its length (a replay out of order), which is not counted.
func (d *burst) windowStart(ctx context.Context, o *obs, subject string, t time.Time) (time.Time, error) {
	key := d.key("w", subject)
	val := []byte(strconv.FormatInt(t.UnixNano(), 10))
	ttl := d.set.ttlUntil(t.Add(2*d.window), d.window)
	for attempt := 0; attempt < 16; attempt++ {
		cur, ok, err := o.st.Get(ctx, key)
		if err != nil {
			return time.Time{}, err
		}
		var swapped bool
		if ok {
			ns, perr := strconv.ParseInt(string(cur), 10, 64)
			if perr == nil {
				start := time.Unix(0, ns)
				switch {
				case !t.Before(start) && t.Sub(start) < d.window:
					return start, nil
				case t.Before(start) && start.Sub(t) < d.window:
					return start, nil // late arrival: count it in the open window
				case t.Before(start):
					return time.Time{}, nil
				}
			}
			swapped, err = o.st.CompareAndSwap(ctx, key, cur, val, ttl)
		} else {
			swapped, err = o.st.PutIfAbsent(ctx, key, val, ttl)
		}
		if err != nil {
			return time.Time{}, err
		}
		if swapped {
			return time.Unix(0, t.UnixNano()), nil
		}
		// Another observer opened the window first: read it again.
	}
	return time.Time{}, fmt.Errorf("burst window for one subject: too much contention")
}

func (d *burst) raise(o *obs, start, t time.Time) *event.Alert {
	took := t.Sub(start).Round(time.Second)
	c := map[string]string{"threshold": strconv.FormatInt(d.threshold, 10), "window": d.window.String(), "window_start": start.UTC().Format(time.RFC3339)}
	if a, ok := o.sourceAddr(); ok {
		c["source_ip"] = a.String()
		c["network"] = networkOf(a, 24, 48).String()
	}
	addLocation(c, o)
	switch d.what {
	case BurstFailedLogins:
		c["principal"] = o.principal().String()
	case BurstAccessDenied:
		c["principal"] = o.principal().String()
		c["error_code"] = o.ev.ErrorCode()
	}
	return d.alert(o, burstNote(d.what, d.threshold, took, o.ev.SourceIP(), o.name, o.ev.ErrorCode()), c)
}
