// Package geoiptest writes small MaxMind-format databases for tests: a few
// networks in Tokyo, Osaka, London and New York, with their ASNs. No real
// database is shipped or downloaded; addresses are from documentation and
// benchmarking ranges.
package geoiptest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Place is one network of the test databases.
type Place struct {
	Network  string
	City     string // "" for a country-only entry
	Country  string
	Lat, Lon float64
	ASN      uint32
	ASOrg    string
}

// Places returns the networks the databases hold. An address in none of
// them is unknown.
func Places() []Place {
	return []Place{
		{"203.0.113.0/24", "Tokyo", "JP", 35.6895, 139.6917, 2516, "KDDI CORPORATION"},
		{"2001:db8:100::/48", "Tokyo", "JP", 35.6895, 139.6917, 2516, "KDDI CORPORATION"},
		{"198.51.100.0/24", "Osaka", "JP", 34.6937, 135.5023, 9605, "NTT DOCOMO, INC."},
		{"192.0.2.0/24", "London", "GB", 51.5074, -0.1278, 5089, "Virgin Media Limited"},
		{"2001:db8:200::/48", "London", "GB", 51.5074, -0.1278, 5089, "Virgin Media Limited"},
		{"198.18.0.0/24", "New York", "US", 40.7128, -74.0060, 7922, "COMCAST-7922"},
		{"198.18.1.0/24", "", "US", 0, 0, 7922, "COMCAST-7922"},
	}
}

// Paths names the files Write created.
type Paths struct {
	City    string // GeoLite2-City
	Country string // GeoLite2-Country
	ASN     string // GeoLite2-ASN
}

// Write creates City, Country and ASN databases in dir.
func Write(dir string) (Paths, error) {
	p := Paths{
		City:    filepath.Join(dir, "city.mmdb"),
		Country: filepath.Join(dir, "country.mmdb"),
		ASN:     filepath.Join(dir, "asn.mmdb"),
	}
	city := func(pl Place) mmdbtype.DataType {
		m := mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(pl.Country)}}
		if pl.City != "" {
			m["city"] = mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(pl.City)}}
			m["location"] = mmdbtype.Map{
				"latitude":        mmdbtype.Float64(pl.Lat),
				"longitude":       mmdbtype.Float64(pl.Lon),
				"accuracy_radius": mmdbtype.Uint16(20),
			}
		}
		return m
	}
	country := func(pl Place) mmdbtype.DataType {
		return mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(pl.Country)}}
	}
	asn := func(pl Place) mmdbtype.DataType {
		return mmdbtype.Map{
			"autonomous_system_number":       mmdbtype.Uint32(pl.ASN),
			"autonomous_system_organization": mmdbtype.String(pl.ASOrg),
		}
	}
	for _, db := range []struct {
		path, typ string
		rec       func(Place) mmdbtype.DataType
	}{{p.City, "GeoLite2-City", city}, {p.Country, "GeoLite2-Country", country}, {p.ASN, "GeoLite2-ASN", asn}} {
		if err := write(db.path, db.typ, db.rec); err != nil {
			return Paths{}, err
		}
	}
	return p, nil
}

func write(path, typ string, rec func(Place) mmdbtype.DataType) error {
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            typ,
		IncludeReservedNetworks: true,
		RecordSize:              24,
	})
	if err != nil {
		return fmt.Errorf("geoiptest: new %s tree: %w", typ, err)
	}
	for _, pl := range Places() {
		_, n, err := net.ParseCIDR(pl.Network)
		if err != nil {
			return fmt.Errorf("geoiptest: %w", err)
		}
		if err := tree.Insert(n, rec(pl)); err != nil {
			return fmt.Errorf("geoiptest: insert %s into %s: %w", pl.Network, typ, err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("geoiptest: %w", err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("geoiptest: write %s: %w", path, err)
	}
	return f.Close()
}
