package detect

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
)

// earthRadiusKm is the mean radius used for great-circle distances.
const earthRadiusKm = 6371.0

// travel alerts when two successful sign-ins of one principal are farther
// apart than MaxSpeedKmh allows for the time between them.
//
// State per principal: the last located sign-in (and the one before it, so
// that a retried event compares against the same pair). It is replaced with
// CompareAndSwap, so concurrent sign-ins form one chain and each is compared
// with exactly the sign-in it followed.
type travel struct {
	base
	events []string
	maxKmh float64
	minKm  float64
}

// spot is one located sign-in.
type spot struct {
	T     int64   `json:"t"` // Unix seconds, event time
	Lat   float64 `json:"lat"`
	Lon   float64 `json:"lon"`
	Place string  `json:"place"`
	IP    string  `json:"ip"`
	Event string  `json:"event"` // hash of the event key
	Prev  *spot   `json:"prev,omitempty"`
}

func (d *travel) wants(o *obs) bool {
	return slices.Contains(d.events, o.name) && o.isSuccess()
}

// horizon is how long a sign-in matters: beyond it even the antipodes are
// reachable at MaxSpeedKmh.
func (d *travel) horizon() time.Duration {
	return time.Duration(math.Pi*earthRadiusKm/d.maxKmh*float64(time.Hour)) + time.Hour
}

func (d *travel) observe(ctx context.Context, o *obs, _ bool) (*event.Alert, error) {
	loc, ok, err := o.location()
	if err != nil || !ok || !loc.HasCoordinates {
		return nil, err
	}
	if !(math.Abs(loc.Lat) <= 90 && math.Abs(loc.Lon) <= 180) { // also false for NaN
		return nil, nil
	}
	a, _ := o.sourceAddr()
	t := o.time()
	me := spot{T: t.Unix(), Lat: loc.Lat, Lon: loc.Lon, Place: loc.String(), IP: a.String(), Event: hash(eventKey(o))}
	key := d.key("last", o.principalKey())
	ttl := d.set.ttlUntil(t.Add(d.horizon()), time.Hour)
	var prev *spot
	for attempt := 0; ; attempt++ {
		if attempt == 16 {
			return nil, fmt.Errorf("impossible travel: too much contention on one principal")
		}
		cur, ok, err := o.st.Get(ctx, key)
		if err != nil {
			return nil, err
		}
		if !ok {
			stored, err := o.st.PutIfAbsent(ctx, key, mustJSON(me), ttl)
			if err != nil {
				return nil, err
			}
			if stored {
				return nil, nil // nothing to compare with
			}
			continue
		}
		var last spot
		if json.Unmarshal(cur, &last) != nil {
			last = spot{} // unreadable: replace it
		}
		if last.Event == me.Event {
			prev = last.Prev // the same event again: same comparison
			break
		}
		if last.Event != "" && last.T > me.T {
			prev = &last // an older event arriving late: compare, keep the newer
			break
		}
		next := me
		if last.Event != "" {
			p := last
			p.Prev = nil
			next.Prev = &p
		}
		swapped, err := o.st.CompareAndSwap(ctx, key, cur, mustJSON(next), ttl)
		if err != nil {
			return nil, err
		}
		if swapped {
			prev = next.Prev
			break
		}
	}
	if prev == nil {
		return nil, nil
	}
	km := distanceKm(prev.Lat, prev.Lon, me.Lat, me.Lon)
	if km < d.minKm {
		return nil, nil
	}
	gap := time.Duration(me.T-prev.T) * time.Second
	if gap < 0 {
		gap = -gap
	}
	speed := math.Inf(1)
	if gap > 0 {
		speed = km / gap.Hours()
	}
	if speed <= d.maxKmh {
		return nil, nil
	}
	speedText := ""
	if !math.IsInf(speed, 1) {
		speedText = fmt.Sprintf("%.0f km/h", speed)
	}
	c := map[string]string{
		"location":          me.Place,
		"previous_location": prev.Place,
		"previous_ip":       prev.IP,
		"previous_time":     time.Unix(prev.T, 0).UTC().Format(time.RFC3339),
		"distance_km":       strconv.FormatFloat(math.Round(km), 'f', 0, 64),
		"source_ip":         me.IP,
		"network":           networkOf(a, 24, 48).String(),
	}
	if speedText != "" {
		// No time at all between the two sign-ins has no speed; the
		// annotation says "instantly" in the reader's language.
		c["speed_kmh"] = speedText
	}
	if loc.ASOrg != "" {
		c["as_org"] = loc.ASOrg
	}
	return d.alert(o, travelNote(km, prev.Place, me.Place, gap, speedText), c), nil
}

func mustJSON(s spot) []byte {
	b, err := json.Marshal(s)
	if err != nil {
		// spot holds only strings and finite numbers.
		panic("detect: encode sign-in location: " + err.Error())
	}
	return b
}

// distanceKm is the great-circle (haversine) distance between two points.
func distanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	rad := math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(h)))
}
