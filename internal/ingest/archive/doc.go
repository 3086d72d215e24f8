// Package archive reads CloudTrail log files kept in S3: it lists the log
// files under an s3://bucket/prefix, narrowed by account, region and time
// range, and streams their events through the ingest package's decoder.
//
// CloudTrail writes log files under
//
//	[custom prefix/]AWSLogs/[o-orgid/]<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_YYYYMMDDTHHmmZ_<id>.json.gz
//
// (Control Tower trails use the organization id as the custom prefix). The
// listing follows that layout and asks S3 only for what can match: a
// delimited listing of AWSLogs/ for the accounts, the named accounts and
// regions directly when filters give them, and one flat listing per region
// that starts at the first day in range (StartAfter) and stops after the
// last. File names carry their delivery time, which narrows further. Digest
// files (CloudTrail-Digest/) and other services' logs in the same tree are
// never listed.
//
// Objects are downloaded concurrently, up to Options.Concurrency at once,
// each through a bounded read-ahead buffer, and decoded one after another in
// key order: events come out in the same order whatever the concurrency, and
// memory depends on the concurrency, never on how many objects the prefix
// holds or how big they are.
//
// An object that cannot be read (a failed GetObject, a truncated or corrupt
// gzip stream, a stalled download) is reported by name and the rest are
// still read; when the listing ends, one more error names the prefix and
// how many objects were not read completely, so a caller can exit non-zero
// and the user can rerun just those objects. A prefix with no log file in
// range yields one *ingest.SkipError saying so, rather than nothing.
package archive
