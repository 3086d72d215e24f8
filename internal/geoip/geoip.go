// Package geoip maps an IP address to where it is and who announces it,
// from optional MaxMind-format databases (GeoIP2/GeoLite2 City or Country,
// and ASN; DB-IP's compatible editions too).
//
// A nil *Locator is valid and knows nothing: every lookup reports not found.
// The sign-in detectors that need a location (new country, new ASN,
// impossible travel) are turned off when there is no Locator.
package geoip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"

	geoip2 "github.com/oschwald/geoip2-golang/v2"
)

// Location is what the databases say about one address. Fields a database
// does not hold are zero.
type Location struct {
	// Country is the ISO 3166-1 alpha-2 code, such as "JP".
	Country string
	// City is the English city name, such as "Tokyo".
	City string
	// Lat and Lon are the approximate coordinates in degrees; they are
	// meaningful only when HasCoordinates is true.
	Lat, Lon float64
	// HasCoordinates reports whether the database gave coordinates.
	HasCoordinates bool
	// ASN is the autonomous system number, such as 2516.
	ASN uint
	// ASOrg is the autonomous system's organisation.
	ASOrg string
}

// String renders the location as "Tokyo, JP (AS2516)", leaving out what is
// unknown, and "unknown" when nothing is known.
func (l Location) String() string {
	var b strings.Builder
	switch {
	case l.City != "" && l.Country != "":
		b.WriteString(l.City + ", " + l.Country)
	case l.Country != "":
		b.WriteString(l.Country)
	case l.City != "":
		b.WriteString(l.City)
	}
	if l.ASN != 0 {
		if b.Len() > 0 {
			b.WriteString(" (AS" + strconv.FormatUint(uint64(l.ASN), 10) + ")")
		} else {
			b.WriteString("AS" + strconv.FormatUint(uint64(l.ASN), 10))
		}
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}

// Place renders only the geographic part: "Tokyo, JP", "JP" or "".
func (l Location) Place() string {
	l.ASN = 0
	if s := l.String(); s != "unknown" {
		return s
	}
	return ""
}

// Locator answers lookups from up to two databases: one City or Country
// database and one ASN database. It is safe for concurrent use. The zero
// value and nil know nothing.
type Locator struct {
	city  *geoip2.Reader
	asn   *geoip2.Reader
	names []string // database types, for Describe
	temps []string // downloaded files removed by Close
}

// Fetcher opens S3 objects; the ingest package's S3 fetcher satisfies it.
type Fetcher interface {
	Open(ctx context.Context, bucket, key string) (io.ReadCloser, error)
}

// Open opens local database files; each may be a City, Country or ASN
// database, and at most one of each role (location, ASN) is allowed.
func Open(paths ...string) (*Locator, error) {
	return Load(context.Background(), nil, "", paths...)
}

// Load opens databases named by local paths or by s3://bucket/key URIs. An
// S3 object is downloaded once, through f, to a file in dir (the system's
// temporary folder when dir is ""); Close removes it. Call Load once per
// process (in Lambda, at cold start) and share the Locator.
func Load(ctx context.Context, f Fetcher, dir string, refs ...string) (*Locator, error) {
	l := &Locator{}
	for _, ref := range refs {
		if err := l.add(ctx, f, dir, ref); err != nil {
			l.Close()
			return nil, err
		}
	}
	return l, nil
}

func (l *Locator) add(ctx context.Context, f Fetcher, dir, ref string) error {
	path := ref
	if rest, ok := strings.CutPrefix(ref, "s3://"); ok {
		bucket, key, _ := strings.Cut(rest, "/")
		if bucket == "" || key == "" {
			return fmt.Errorf("geoip: %s is not an S3 object URI (want s3://bucket/key)", ref)
		}
		if f == nil {
			return fmt.Errorf("geoip: cannot read %s: no S3 client configured", ref)
		}
		p, err := download(ctx, f, dir, bucket, key)
		if err != nil {
			return fmt.Errorf("geoip: download %s: %w", ref, err)
		}
		l.temps = append(l.temps, p)
		path = p
	}
	r, err := geoip2.Open(path)
	if err != nil {
		return fmt.Errorf("geoip: open %s: %w (want a MaxMind-format City, Country or ASN database)", ref, err)
	}
	typ := r.Metadata().DatabaseType
	probe := netip.IPv4Unspecified()
	if _, err := r.City(probe); !isInvalidMethod(err) {
		if l.city != nil {
			r.Close()
			return fmt.Errorf("geoip: %s is a second location database (%s); give one City or Country database", ref, typ)
		}
		l.city = r
	} else if _, err := r.ASN(probe); !isInvalidMethod(err) {
		if l.asn != nil {
			r.Close()
			return fmt.Errorf("geoip: %s is a second ASN database (%s); give one", ref, typ)
		}
		l.asn = r
	} else {
		r.Close()
		return fmt.Errorf("geoip: %s is a %s database, which holds neither locations nor ASNs", ref, typ)
	}
	l.names = append(l.names, typ)
	return nil
}

func isInvalidMethod(err error) bool {
	var im geoip2.InvalidMethodError
	return errors.As(err, &im)
}

// download copies an S3 object to a new file in dir and returns its path.
func download(ctx context.Context, f Fetcher, dir, bucket, key string) (string, error) {
	rc, err := f.Open(ctx, bucket, key)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(dir, "trailwatch-geoip-*.mmdb")
	if err != nil {
		return "", err
	}
	_, err = io.Copy(tmp, rc)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}

// HasLocation reports whether a City or Country database is open.
func (l *Locator) HasLocation() bool { return l != nil && l.city != nil }

// HasASN reports whether an ASN database is open.
func (l *Locator) HasASN() bool { return l != nil && l.asn != nil }

// Describe lists the open databases' types, such as "GeoLite2-City".
func (l *Locator) Describe() []string {
	if l == nil {
		return nil
	}
	return append([]string(nil), l.names...)
}

// Lookup returns what the databases know about ip; ok is false when they
// know nothing (or cannot be read: use Find to see why).
func (l *Locator) Lookup(ip netip.Addr) (Location, bool) {
	loc, ok, err := l.Find(ip)
	if err != nil {
		return Location{}, false
	}
	return loc, ok
}

// Find is Lookup that also reports a database that cannot be decoded.
func (l *Locator) Find(ip netip.Addr) (loc Location, ok bool, err error) {
	if l == nil || !ip.IsValid() {
		return Location{}, false, nil
	}
	ip = ip.Unmap().WithZone("")
	if l.city != nil {
		c, err := l.city.City(ip)
		if err != nil {
			return Location{}, false, fmt.Errorf("geoip: look up %s in %s: %w", ip, l.city.Metadata().DatabaseType, err)
		}
		loc.Country = c.Country.ISOCode
		loc.City = c.City.Names.English
		if c.Location.HasCoordinates() {
			loc.Lat, loc.Lon, loc.HasCoordinates = *c.Location.Latitude, *c.Location.Longitude, true
		}
	}
	if l.asn != nil {
		a, err := l.asn.ASN(ip)
		if err != nil {
			return Location{}, false, fmt.Errorf("geoip: look up %s in %s: %w", ip, l.asn.Metadata().DatabaseType, err)
		}
		loc.ASN = a.AutonomousSystemNumber
		loc.ASOrg = a.AutonomousSystemOrganization
	}
	ok = loc.Country != "" || loc.City != "" || loc.HasCoordinates || loc.ASN != 0
	return loc, ok, nil
}

// Close closes the databases and removes downloaded copies.
func (l *Locator) Close() error {
	if l == nil {
		return nil
	}
	var errs []error
	for _, r := range []*geoip2.Reader{l.city, l.asn} {
		if r != nil {
			errs = append(errs, r.Close())
		}
	}
	for _, p := range l.temps {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	l.city, l.asn, l.temps = nil, nil, nil
	return errors.Join(errs...)
}
