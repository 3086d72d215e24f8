package source_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/config/source"
	"github.com/trailwatch/trailwatch/internal/config/source/sourcetest"
	"github.com/trailwatch/trailwatch/internal/rule"
)

var opts = config.Options{Now: func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }}

const userRules = `rules:
  - id: our-access-key
    title: Access key created
    severity: high
    pattern:
      eventName: [CreateAccessKey]
`

const moreRules = `rules:
  - id: our-stop-logging
    title: Trail stopped
    severity: critical
    jq: select(.eventName == "StopLogging")
`

const networks = `networks:
  office: [203.0.113.0/24]
detectors:
  - id: our-untrusted-root
    kind: trusted-network
    severity: critical
    networks: [office]
`

// load reads a configuration and its rules and detectors, as the pipeline
// does, and returns the rule ids.
func loadRules(t *testing.T, c *config.Config) []string {
	t.Helper()
	sel := rule.Selection{Packs: []string{rule.PacksNone}}
	sel.Paths, _ = c.RuleFiles()
	for _, f := range c.RuleSources {
		sel.Files = append(sel.Files, rule.File{FS: f.FS, Name: f.Name, Display: f.Display})
	}
	rs, err := rule.Load(sel)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	dc, err := rule.LoadDetectors(sel)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dc.Detectors {
		ids = append(ids, "detector:"+d.ID)
	}
	return ids
}

func TestS3BesideTheConfiguration(t *testing.T) {
	s3 := sourcetest.NewS3(t)
	s3.Put(t, "cfg", "trailwatch/trailwatch.yaml", []byte("rules:\n  packs: none\n  files: [rules/*.yaml, networks.yaml]\n"))
	s3.Put(t, "cfg", "trailwatch/rules/a.yaml", []byte(userRules))
	s3.Put(t, "cfg", "trailwatch/rules/b.yaml", []byte(moreRules))
	s3.Put(t, "cfg", "trailwatch/rules/README.md", []byte("not a rule file"))
	s3.Put(t, "cfg", "trailwatch/rules/old/c.yaml", []byte("broken: ["))
	s3.Put(t, "cfg", "trailwatch/networks.yaml", []byte(networks))
	l := &source.Loader{S3: s3.Client(), Options: opts}
	c, err := l.Load(context.Background(), "s3://cfg/trailwatch/trailwatch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var shown []string
	for _, f := range c.RuleSources {
		shown = append(shown, f.Display)
	}
	want := []string{"s3://cfg/trailwatch/rules/a.yaml", "s3://cfg/trailwatch/rules/b.yaml", "s3://cfg/trailwatch/networks.yaml"}
	if !slices.Equal(shown, want) {
		t.Errorf("rule files %q, want %q", shown, want)
	}
	if files, _ := c.RuleFiles(); len(files) != 0 {
		t.Errorf("local rule files %q for a configuration in S3", files)
	}
	if got := loadRules(t, c); !slices.Equal(got, []string{"our-access-key", "our-stop-logging", "detector:our-untrusted-root"}) {
		t.Errorf("loaded %q", got)
	}
	if c.File != "s3://cfg/trailwatch/trailwatch.yaml" || c.Digest == "" {
		t.Errorf("file %q digest %q", c.File, c.Digest)
	}
}

func TestS3Folder(t *testing.T) {
	s3 := sourcetest.NewS3(t)
	s3.Put(t, "cfg", "trailwatch.yaml", []byte("rules:\n  packs: none\n  files: [rules/, s3://shared/team/extra.yaml]\n"))
	s3.Put(t, "cfg", "rules/a.yaml", []byte(userRules))
	s3.Put(t, "cfg", "rules/nested/b.yml", []byte(moreRules))
	s3.Put(t, "cfg", "rules/testdata/event.yaml", []byte("not: a rule file"))
	s3.Put(t, "cfg", "rules/notes.txt", []byte("x"))
	s3.Put(t, "shared", "team/extra.yaml", []byte(networks))
	c, err := (&source.Loader{S3: s3.Client(), Options: opts}).Load(context.Background(), "s3://cfg/trailwatch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := loadRules(t, c); !slices.Equal(got, []string{"our-access-key", "our-stop-logging", "detector:our-untrusted-root"}) {
		t.Errorf("loaded %q", got)
	}
}

// TestNamesNoFile: a glob, a folder or a file that is not there is an
// error at the setting's line, for every entry, in one run.
func TestNamesNoFile(t *testing.T) {
	s3 := sourcetest.NewS3(t)
	s3.Put(t, "cfg", "t/trailwatch.yaml", []byte("rules:\n  packs: none\n  files:\n    - our-rules/*.yaml\n    - missing.yaml\n    - empty/\n    - ../../up.yaml\n"))
	s3.Put(t, "cfg", "t/other.yaml", []byte(userRules))
	_, err := (&source.Loader{S3: s3.Client(), Options: opts}).Load(context.Background(), "s3://cfg/t/trailwatch.yaml")
	want := `s3://cfg/t/trailwatch.yaml:4: rules.files[0]: "our-rules/*.yaml" names no file
s3://cfg/t/trailwatch.yaml:5: rules.files[1]: "missing.yaml" names no file
s3://cfg/t/trailwatch.yaml:6: rules.files[2]: "empty/" names no file
s3://cfg/t/trailwatch.yaml:7: rules.files[3]: "../../up.yaml" climbs out of bucket cfg`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}

func TestSSMParameters(t *testing.T) {
	p := sourcetest.NewSSM(t)
	p.Put("/trailwatch/config", "rules:\n  packs: none\n  files: [rules/, named/extra]\n")
	p.Put("/trailwatch/rules/iam", userRules)
	p.Put("/trailwatch/rules/logging.yaml", moreRules)
	p.PutSecure("/trailwatch/rules/slack-webhook", "https://hooks.example.test/secret-value")
	p.Put("/trailwatch/named/extra", networks)
	p.Put("/trailwatch/named/other", "not read")
	c, err := (&source.Loader{SSM: p.Client(), Options: opts}).Load(context.Background(), "ssm:/trailwatch/config")
	if err != nil {
		t.Fatal(err)
	}
	if got := loadRules(t, c); !slices.Equal(got, []string{"our-access-key", "our-stop-logging", "detector:our-untrusted-root"}) {
		t.Errorf("loaded %q", got)
	}
	if len(c.Notes) != 1 || c.Notes[0] != "ssm:/trailwatch/rules/slack-webhook is a SecureString parameter (a secret) and is not read as a rule file" {
		t.Errorf("notes %q", c.Notes)
	}
	for _, f := range c.RuleSources {
		b, _ := f.FS.(interface{ ReadFile(string) ([]byte, error) }).ReadFile(f.Name)
		if strings.Contains(string(b), "secret-value") {
			t.Errorf("the SecureString was read into %s", f.Display)
		}
	}
	// Listing a path fetched its values: no request per parameter, only
	// the configuration's own and the one named parameter's, read directly
	// (so that reading it needs no right to list its folder).
	if n := p.Calls("GetParameter"); n != 2 {
		t.Errorf("%d GetParameter calls, want 2 (the configuration and named/extra)", n)
	}
}

func TestSSMGlobAndErrors(t *testing.T) {
	p := sourcetest.NewSSM(t)
	p.Put("/tw/config", "rules:\n  packs: none\n  files: [rules/*.yaml, /tw/denied/, rules/missing]\n")
	p.Put("/tw/rules/a.yaml", userRules)
	p.Put("/tw/rules/b.txt", "x")
	p.Deny("/tw/denied")
	_, err := (&source.Loader{SSM: p.Client(), Options: opts}).Load(context.Background(), "ssm:/tw/config")
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "ssm:/tw/config:3: rules.files[1]: ssm:/tw/denied: access denied: allow ssm:GetParametersByPath on it") ||
		lines[1] != `ssm:/tw/config:3: rules.files[2]: "rules/missing" names no file` {
		t.Errorf("error:\n%v", err)
	}
}

func TestNoClient(t *testing.T) {
	_, err := (&source.Loader{Options: opts}).Load(context.Background(), "ssm:/tw/config")
	if err == nil || err.Error() != "config ssm:/tw/config: no SSM client (no AWS configuration could be loaded)" {
		t.Errorf("error %v", err)
	}
}

func TestConfigNotFound(t *testing.T) {
	p := sourcetest.NewSSM(t)
	_, err := (&source.Loader{SSM: p.Client(), Options: opts}).Load(context.Background(), "ssm:/tw/config")
	if err == nil || err.Error() != "read config from ssm:/tw/config: file does not exist" {
		t.Errorf("error %v", err)
	}
}

// TestDigest: the digest changes when any file the configuration names
// changes, and only then.
func TestDigest(t *testing.T) {
	s3 := sourcetest.NewS3(t)
	s3.Put(t, "cfg", "trailwatch.yaml", []byte("rules:\n  files: [rules/*.yaml]\n"))
	s3.Put(t, "cfg", "rules/a.yaml", []byte(userRules))
	l := &source.Loader{S3: s3.Client(), Options: opts}
	digest := func() string {
		c, err := l.Load(context.Background(), "s3://cfg/trailwatch.yaml")
		if err != nil {
			t.Fatal(err)
		}
		return c.Digest
	}
	d1, d2 := digest(), digest()
	if d1 != d2 {
		t.Fatal("the same files give two digests")
	}
	s3.Put(t, "cfg", "rules/a.yaml", []byte(userRules+"\n"))
	if digest() == d1 {
		t.Error("a changed rule file gives the same digest")
	}
	d3 := digest()
	s3.Put(t, "cfg", "rules/b.yaml", []byte(moreRules))
	if digest() == d3 {
		t.Error("a new rule file gives the same digest")
	}
}

func TestLocal(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "rules"), 0o755)
	os.WriteFile(filepath.Join(dir, "trailwatch.yaml"), []byte("rules:\n  packs: none\n  files: [rules/]\nreceivers:\n  - name: log\n    stdout: {}\n    templates:\n      title: {file: title.tmpl}\nroute:\n  receiver: log\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "rules", "a.yaml"), []byte(userRules), 0o600)
	os.WriteFile(filepath.Join(dir, "title.tmpl"), []byte("{{ .Title }}!"), 0o600)
	l := &source.Loader{Options: opts}
	c, err := l.Load(context.Background(), filepath.Join(dir, "trailwatch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loadRules(t, c); !slices.Equal(got, []string{"our-access-key"}) {
		t.Errorf("loaded %q", got)
	}
	if got := c.Receivers[0].Templates["title"]; got != "{{ .Title }}!" {
		t.Errorf("template %q", got)
	}
	d1 := c.Digest
	os.WriteFile(filepath.Join(dir, "rules", "a.yaml"), []byte(userRules+"# changed\n"), 0o600)
	if c, _ = l.Load(context.Background(), filepath.Join(dir, "trailwatch.yaml")); c.Digest == d1 {
		t.Error("a changed local rule file gives the same digest")
	}
}

func TestTemplateFromS3(t *testing.T) {
	s3 := sourcetest.NewS3(t)
	s3.Put(t, "cfg", "tw/trailwatch.yaml", []byte("receivers:\n  - name: log\n    stdout: {}\n    templates:\n      title: {file: templates/title.tmpl}\n      body: {file: templates/missing.tmpl}\nroute:\n  receiver: log\n"))
	s3.Put(t, "cfg", "tw/templates/title.tmpl", []byte("{{ .Title }} (from S3)"))
	_, err := (&source.Loader{S3: s3.Client(), Options: opts}).Load(context.Background(), "s3://cfg/tw/trailwatch.yaml")
	want := `s3://cfg/tw/trailwatch.yaml:6: receivers[0].templates.body: cannot read template file "templates/missing.tmpl": s3://cfg/tw/templates/missing.tmpl: file does not exist`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
	s3.Put(t, "cfg", "tw/templates/missing.tmpl", []byte("{{ .Summary }}"))
	c, err := (&source.Loader{S3: s3.Client(), Options: opts}).Load(context.Background(), "s3://cfg/tw/trailwatch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Receivers[0].Templates["title"]; got != "{{ .Title }} (from S3)" {
		t.Errorf("template %q", got)
	}
}

// TestTattletailFromSSM: a tattletail configuration runs from where a
// trailwatch.yaml would.
func TestTattletailFromSSM(t *testing.T) {
	p := sourcetest.NewSSM(t)
	p.Put("/tattletail/config", "[[rule]]\nname = \"Create AccessKey\"\njq_match = 'select(.eventName == \"CreateAccessKey\")'\ndestinations = [\"Slack\"]\n\n[[destination]]\nid = \"Slack\"\ntype = \"slack_webhook\"\nwebhook_url = \"https://hooks.example.test/x\"\n")
	c, err := (&source.Loader{SSM: p.Client(), Options: opts}).Load(context.Background(), "ssm:/tattletail/config")
	if err != nil {
		t.Fatal(err)
	}
	if got := loadRules(t, c); !slices.Equal(got, []string{"create-accesskey"}) {
		t.Errorf("loaded %q", got)
	}
}

func TestResolve(t *testing.T) {
	cases := []struct{ base, ref, want string }{
		{"s3://b/tw/trailwatch.yaml", "rules/*.yaml", "s3://b/tw/rules/*.yaml"},
		{"s3://b/trailwatch.yaml", "rules/", "s3://b/rules/"},
		{"s3://b/tw/trailwatch.yaml", "../x.yaml", "s3://b/x.yaml"},
		{"s3://b/tw/trailwatch.yaml", "./", "s3://b/tw/"},
		{"s3://b/trailwatch.yaml", "./", "s3://b/"},
		{"s3://b/tw/trailwatch.yaml", "ssm:/tw/rules/", "ssm:/tw/rules/"},
		{"ssm:/trailwatch/config", "rules/", "ssm:/trailwatch/rules/"},
		{"ssm:/trailwatch/config", "rules/iam", "ssm:/trailwatch/rules/iam"},
		{"ssm:/trailwatch/config", "/other/rules/", "ssm:/other/rules/"},
		{"ssm:trailwatch-config", "rules/", "ssm:/rules/"},
		{"ssm:/trailwatch/config", "s3://b/k.yaml", "s3://b/k.yaml"},
		{"conf/trailwatch.yaml", "rules/*.yaml", filepath.Join("conf", "rules", "*.yaml")},
		{"conf/trailwatch.yaml", "/etc/r.yaml", "/etc/r.yaml"},
	}
	for _, c := range cases {
		base, err := source.Parse(c.base)
		if err != nil {
			t.Fatal(err)
		}
		got, err := base.Resolve(c.ref)
		if err != nil {
			t.Errorf("%s + %s: %v", c.base, c.ref, err)
			continue
		}
		if got.String() != c.want {
			t.Errorf("%s + %s = %s, want %s", c.base, c.ref, got, c.want)
		}
	}
	for _, c := range []struct{ base, ref, want string }{
		{"s3://b/trailwatch.yaml", "../x", `"../x" climbs out of bucket b`},
		{"s3://b/trailwatch.yaml", "/abs.yaml", `"/abs.yaml": an absolute path next to s3://b/trailwatch.yaml; write it relative to the configuration, or as s3://bucket/key`},
		{"ssm:/tw/config", "../../", `"../../" names the SSM root; name a path such as ssm:/trailwatch/rules/`},
	} {
		base, _ := source.Parse(c.base)
		if _, err := base.Resolve(c.ref); err == nil || err.Error() != c.want {
			t.Errorf("%s + %s: error %v, want %s", c.base, c.ref, err, c.want)
		}
	}
	for ref, want := range map[string]string{
		"s3:///key":    `"s3:///key" names no bucket: write s3://bucket/key`,
		"ssm:":         `"ssm:": want an SSM parameter name such as ssm:/trailwatch/config`,
		"S3://b/k":     `"S3://b/k": write s3://bucket/key or ssm:/name, in lower case`,
		"ssm:/a b/c":   `"ssm:/a b/c": want an SSM parameter name such as ssm:/trailwatch/config`,
		"s3://b c/key": `"s3://b c/key": a bucket name has no spaces`,
	} {
		if _, err := source.Parse(ref); err == nil || err.Error() != want {
			t.Errorf("Parse(%q) error %v, want %s", ref, err, want)
		}
	}
}
