package geoip_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/geoip"
	"github.com/trailwatch/trailwatch/internal/geoip/geoiptest"
)

func databases(t *testing.T) geoiptest.Paths {
	t.Helper()
	p, err := geoiptest.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLookupCityAndASN(t *testing.T) {
	p := databases(t)
	l, err := geoip.Open(p.City, p.ASN)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, tc := range []struct {
		ip, want string
		coords   bool
	}{
		{"203.0.113.9", "Tokyo, JP (AS2516)", true},
		{"::ffff:203.0.113.9", "Tokyo, JP (AS2516)", true},
		{"2001:db8:100:1::5", "Tokyo, JP (AS2516)", true},
		{"192.0.2.44", "London, GB (AS5089)", true},
		{"198.18.0.7", "New York, US (AS7922)", true},
		{"198.18.1.7", "US (AS7922)", false},
	} {
		loc, ok := l.Lookup(netip.MustParseAddr(tc.ip))
		if !ok || loc.String() != tc.want || loc.HasCoordinates != tc.coords {
			t.Errorf("Lookup(%s) = %q (coords %v), %v; want %q (coords %v)", tc.ip, loc, loc.HasCoordinates, ok, tc.want, tc.coords)
		}
	}
	if loc, ok := l.Lookup(netip.MustParseAddr("10.1.2.3")); ok {
		t.Errorf("Lookup(10.1.2.3) = %q; want not found", loc)
	}
	tokyo, _ := l.Lookup(netip.MustParseAddr("203.0.113.1"))
	if tokyo.ASOrg != "KDDI CORPORATION" || tokyo.Lat < 35 || tokyo.Lat > 36 || tokyo.Place() != "Tokyo, JP" {
		t.Errorf("Tokyo = %+v", tokyo)
	}
	if got := l.Describe(); strings.Join(got, ",") != "GeoLite2-City,GeoLite2-ASN" {
		t.Errorf("Describe = %v", got)
	}
}

func TestCountryOnly(t *testing.T) {
	p := databases(t)
	l, err := geoip.Open(p.Country)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	loc, ok := l.Lookup(netip.MustParseAddr("203.0.113.9"))
	if !ok || loc.String() != "JP" || loc.HasCoordinates || l.HasASN() || !l.HasLocation() {
		t.Fatalf("country-only lookup = %+v %v", loc, ok)
	}
}

func TestNilLocator(t *testing.T) {
	var l *geoip.Locator
	if _, ok := l.Lookup(netip.MustParseAddr("203.0.113.9")); ok {
		t.Fatal("nil locator found a location")
	}
	if l.HasLocation() || l.HasASN() || l.Close() != nil || l.Describe() != nil {
		t.Fatal("nil locator is not empty")
	}
	if got := (geoip.Location{}).String(); got != "unknown" {
		t.Fatalf("zero Location = %q", got)
	}
	if got := (geoip.Location{ASN: 64500}).String(); got != "AS64500" {
		t.Fatalf("ASN-only Location = %q", got)
	}
}

func TestOpenErrors(t *testing.T) {
	p := databases(t)
	bad := filepath.Join(t.TempDir(), "not.mmdb")
	os.WriteFile(bad, []byte("not a database"), 0o600)
	for _, tc := range []struct {
		paths []string
		want  string
	}{
		{[]string{bad}, "geoip: open " + bad + ":"},
		{[]string{p.City, p.Country}, "is a second location database (GeoLite2-Country)"},
		{[]string{p.ASN, p.ASN}, "is a second ASN database"},
		{[]string{"s3://bucket-only"}, "is not an S3 object URI"},
		{[]string{"s3://b/k.mmdb"}, "no S3 client configured"},
	} {
		_, err := geoip.Open(tc.paths...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%v) = %v; want an error containing %q", tc.paths, err, tc.want)
		}
	}
}

// fetcher serves files from a map keyed "bucket/key".
type fetcher map[string][]byte

func (f fetcher) Open(_ context.Context, bucket, key string) (io.ReadCloser, error) {
	b, ok := f[bucket+"/"+key]
	if !ok {
		return nil, fmt.Errorf("NoSuchKey: %s/%s", bucket, key)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func TestLoadFromS3(t *testing.T) {
	p := databases(t)
	city, _ := os.ReadFile(p.City)
	asn, _ := os.ReadFile(p.ASN)
	dir := t.TempDir()
	f := fetcher{"geo/City.mmdb": city, "geo/ASN.mmdb": asn}
	l, err := geoip.Load(context.Background(), f, dir, "s3://geo/City.mmdb", "s3://geo/ASN.mmdb")
	if err != nil {
		t.Fatal(err)
	}
	if loc, _ := l.Lookup(netip.MustParseAddr("192.0.2.1")); loc.String() != "London, GB (AS5089)" {
		t.Fatalf("lookup through S3 copy = %q", loc)
	}
	if n, _ := os.ReadDir(dir); len(n) != 2 {
		t.Fatalf("%d files downloaded; want 2", len(n))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if n, _ := os.ReadDir(dir); len(n) != 0 {
		t.Fatalf("Close left %d downloaded files", len(n))
	}
	_, err = geoip.Load(context.Background(), f, dir, "s3://geo/missing.mmdb")
	if err == nil || !strings.Contains(err.Error(), "download s3://geo/missing.mmdb: NoSuchKey") {
		t.Fatalf("missing object: %v", err)
	}
	if n, _ := os.ReadDir(dir); len(n) != 0 {
		t.Fatalf("a failed load left %d files", len(n))
	}
	if errors.Is(err, os.ErrNotExist) {
		t.Fatal("unexpected error kind")
	}
}
