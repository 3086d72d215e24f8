// Package source reads a configuration, and every file it names, from
// where the configuration lives: a local folder (a laptop, or the bundle
// built into the Lambda zip), an S3 prefix, or SSM parameters.
//
// A configuration is named by a reference, the value of TRAILWATCH_CONFIG
// or of --config:
//
//	trailwatch.yaml                      a local file
//	s3://my-config-bucket/trailwatch/trailwatch.yaml
//	ssm:/trailwatch/config               an SSM parameter
//
// The files it names (rules.files: rule, detector and trusted-network
// files; receiver templates written as {file: PATH}) are read relative to
// it with the same kind of access: rules/*.yaml next to an S3 object is the
// objects of that prefix matching the glob (listed, then read); next to an
// SSM parameter it is the parameters under that path. A reference may also
// be written absolute, with its own scheme (s3://other-bucket/rules/,
// ssm:/trailwatch/rules/). A reference ending in "/" (or naming a folder)
// takes every rule file (*.yaml, *.yml) below it, and for SSM every String
// parameter under the path.
//
// Each kind of place is an fs.FS (S3 and SSM ones are built here; a local
// folder is os.DirFS), so the rule loader reads through one interface and
// nothing after loading knows where a rule came from. Loader.Load reads the
// configuration and everything it names once, into memory, and records a
// digest of all of it: what is built is exactly what was read, and a
// reload can tell that nothing changed.
//
// The configuration may be trailwatch.yaml or a cloudtrail-tattletail
// configuration (TOML), which internal/config/tattletail converts.
//
// Everything read is bounded: each file by config.MaxFileSize, the files
// one configuration names by MaxFiles and MaxBytes, and a listing by
// MaxListed entries.
package source
