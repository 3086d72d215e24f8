package detect

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
)

// firstSeen alerts when a principal signs in with a value of one attribute
// (network, country, ASN, user-agent family) it has not shown within the
// retention window, once the detector has watched the account for the
// learning period.
//
// State, per principal and value: "first|last|eventID" (Unix seconds of the
// event times). A new value is claimed with PutIfAbsent, so exactly one of
// many concurrent observers alerts; a value seen again is refreshed with
// CompareAndSwap at most once a day. The entry expires retention after it
// was last seen, in event time.
type firstSeen struct {
	base
	attr      string
	events    []string
	failures  bool
	learning  time.Duration
	retention time.Duration
	v4, v6    int
	learnIdx  int // in Set.learners
}

// refreshEvery limits refresh writes for values seen often.
const refreshEvery = 24 * time.Hour

func (d *firstSeen) wants(o *obs) bool {
	return slices.Contains(d.events, o.name) && (d.failures || o.isSuccess())
}

// value returns the attribute's value for the event, safe for a state key,
// and "" when the event has none (a service name as the source, an address
// GeoIP does not know).
func (d *firstSeen) value(o *obs) (string, error) {
	switch d.attr {
	case AttrNetwork:
		a, ok := o.sourceAddr()
		if !ok {
			return "", nil
		}
		return networkOf(a, d.v4, d.v6).String(), nil
	case AttrCountry, AttrASN:
		loc, ok, err := o.location()
		if err != nil || !ok {
			return "", err
		}
		if d.attr == AttrCountry {
			return safeValue(loc.Country), nil
		}
		if loc.ASN == 0 {
			return "", nil
		}
		return "AS" + strconv.FormatUint(uint64(loc.ASN), 10), nil
	case AttrUserAgent:
		return UserAgentFamily(o.ev.UserAgent()), nil
	}
	return "", nil
}

// safeValue keeps an upper-case country code; anything else is dropped.
func safeValue(s string) string {
	if len(s) < 2 || len(s) > 3 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return ""
		}
	}
	return s
}

func (d *firstSeen) observe(ctx context.Context, o *obs, learn bool) (*event.Alert, error) {
	val, err := d.value(o)
	if err != nil || val == "" {
		return nil, err
	}
	pk := o.principalKey()
	key := d.key("v", pk, strings.ReplaceAll(val, "/", "_"))
	t := o.time()
	id := eventKey(o)
	fresh := fmt.Sprintf("%d|%d|%s", t.Unix(), t.Unix(), hash(id))
	ttl := d.set.ttlUntil(t.Add(d.retention), time.Hour)

	isNew := false
	cur, ok, err := o.st.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	if !ok {
		stored, err := o.st.PutIfAbsent(ctx, key, []byte(fresh), ttl)
		if err != nil {
			return nil, err
		}
		isNew = stored
	} else {
		first, last, who, perr := parseSeen(cur)
		switch {
		case perr != nil:
			// Not ours to read: replace it.
			swapped, err := o.st.CompareAndSwap(ctx, key, cur, []byte(fresh), ttl)
			if err != nil {
				return nil, err
			}
			isNew = swapped
		case who == hash(id) && first == last:
			// The same event again (a retry, or a second delivery path):
			// answer as the first time; delivery drops the duplicate.
			isNew = true
		case t.Sub(time.Unix(last, 0)) > d.retention:
			// Expired in event time though the store still holds it.
			swapped, err := o.st.CompareAndSwap(ctx, key, cur, []byte(fresh), ttl)
			if err != nil {
				return nil, err
			}
			isNew = swapped
		case t.Sub(time.Unix(last, 0)) > refreshEvery:
			next := fmt.Sprintf("%d|%d|%s", first, t.Unix(), who)
			// A failed swap means another observer refreshed it first.
			swapped, err := o.st.CompareAndSwap(ctx, key, cur, []byte(next), ttl)
			if err != nil {
				return nil, err
			}
			if swapped {
				// Keep the principal's marker alive with its values.
				pkey := d.key("p", pk)
				if err := o.st.Put(ctx, pkey, []byte(strconv.FormatInt(t.Unix(), 10)), ttl); err != nil {
					return nil, err
				}
			}
		}
	}
	if !isNew {
		return nil, nil
	}
	// quiet records that this event raised no alert, so that a retry or a
	// second delivery of it (or live processing of an event a replay
	// learnt) stays quiet too: only a record naming the event answers as
	// new again. A failed swap means another observer moved the record on.
	quiet := func() (*event.Alert, error) {
		_, err := o.st.CompareAndSwap(ctx, key, []byte(fresh), []byte(fmt.Sprintf("%d|%d|", t.Unix(), t.Unix())), ttl)
		return nil, err
	}
	// A principal's very first observed value is its baseline, not news.
	pkey := d.key("p", pk)
	firstTime, err := o.st.PutIfAbsent(ctx, pkey, []byte(strconv.FormatInt(t.Unix(), 10)), ttl)
	if err != nil {
		return nil, err
	}
	if firstTime {
		return quiet()
	}
	if err := o.st.Put(ctx, pkey, []byte(strconv.FormatInt(t.Unix(), 10)), ttl); err != nil {
		return nil, err
	}
	if learn {
		return quiet()
	}
	start, ok := d.set.learningStartFor(d, o.ev)
	if !ok || t.Sub(start) < d.learning {
		return quiet()
	}
	if _, _, err := o.location(); err != nil {
		return nil, err
	}
	c := map[string]string{"attribute": d.attr, d.attr: val}
	if a, ok := o.sourceAddr(); ok {
		c["source_ip"] = a.String()
		c["network"] = networkOf(a, d.v4, d.v6).String()
	}
	addLocation(c, o)
	return d.alert(o, firstSeenNote(d.attr, val, o.principal().String(), d.retention), c), nil
}

// human writes whole days as "90 days", other durations as Go text.
func human(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= day && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + " days"
	}
	return d.String()
}

func attrNoun(a string) string {
	switch a {
	case AttrUserAgent:
		return "client"
	case AttrASN:
		return "network operator"
	}
	return a
}

func parseSeen(b []byte) (first, last int64, who string, err error) {
	parts := strings.Split(string(b), "|")
	if len(parts) != 3 {
		return 0, 0, "", fmt.Errorf("bad first-seen record %q", b)
	}
	first, err = strconv.ParseInt(parts[0], 10, 64)
	if err == nil {
		last, err = strconv.ParseInt(parts[1], 10, 64)
	}
	return first, last, parts[2], err
}

// learningStart returns when the detector started watching acct, recording
// t when it is the first (or, for out-of-order replay, the earliest) time.
func (d *firstSeen) learningStart(ctx context.Context, o *obs, acct string, t time.Time) (time.Time, error) {
	key := d.key("learn", acct)
	val := []byte(strconv.FormatInt(t.Unix(), 10))
	for attempt := 0; attempt < 8; attempt++ {
		stored, err := o.st.PutIfAbsent(ctx, key, val, 0)
		if err != nil {
			return time.Time{}, err
		}
		if stored {
			return time.Unix(t.Unix(), 0), nil
		}
		cur, ok, err := o.st.Get(ctx, key)
		if err != nil {
			return time.Time{}, err
		}
		if !ok {
			continue
		}
		sec, perr := strconv.ParseInt(string(cur), 10, 64)
		if perr == nil && sec <= t.Unix() {
			return time.Unix(sec, 0), nil
		}
		swapped, err := o.st.CompareAndSwap(ctx, key, cur, val, 0)
		if err != nil {
			return time.Time{}, err
		}
		if swapped {
			return time.Unix(t.Unix(), 0), nil
		}
	}
	return time.Time{}, fmt.Errorf("learning start for account %s: too much contention", acct)
}
