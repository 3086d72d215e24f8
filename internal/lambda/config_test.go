package lambda

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/config/source/sourcetest"
	"github.com/trailwatch/trailwatch/internal/pipeline"
)

// memSource serves a configuration whose digest is its text.
type memSource struct {
	digest string
	err    error
}

func (m *memSource) Load(context.Context) (*config.Config, error) {
	if m.err != nil {
		return nil, m.err
	}
	c := config.Default()
	c.Digest = m.digest
	return c, nil
}
func (m *memSource) String() string { return "memory" }

func TestReloaderKeepsGoodConfig(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	src := &memSource{digest: "v1"}
	builds := 0
	r := NewReloader(src, func(_ context.Context, c *config.Config) (Engine, error) {
		builds++
		if c.Digest == "bad" {
			return nil, errors.New("bad config")
		}
		return &fakeEngine{failNames: map[string]bool{c.Digest: true}}, nil
	}, time.Minute, func() time.Time { return now }, nil)
	ctx := context.Background()
	e1, err := r.Engine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	src.digest = "v2"
	if e, _ := r.Engine(ctx); e != e1 {
		t.Fatal("config re-read before the interval")
	}
	now = now.Add(2 * time.Minute)
	e2, _ := r.Engine(ctx)
	if e2 == e1 || builds != 2 {
		t.Fatalf("changed config not rebuilt (builds %d)", builds)
	}
	now = now.Add(2 * time.Minute)
	if e, _ := r.Engine(ctx); e != e2 || builds != 2 {
		t.Fatal("unchanged config rebuilt")
	}
	src.digest = "bad"
	now = now.Add(2 * time.Minute)
	if e, err := r.Engine(ctx); e != e2 || err != nil {
		t.Fatalf("bad config replaced the good one: %v %v", e, err)
	}
	src.err = errors.New("ssm down")
	now = now.Add(2 * time.Minute)
	if e, err := r.Engine(ctx); e != e2 || err != nil {
		t.Fatalf("unreadable config replaced the good one: %v %v", e, err)
	}

	fresh := NewReloader(&memSource{err: errors.New("ssm down")}, nil, time.Minute, nil, nil)
	if _, err := fresh.Engine(ctx); err == nil {
		t.Fatal("first load failure not reported")
	}
}

type closingEngine struct {
	fakeEngine
	closed bool
}

func (c *closingEngine) Close() error { c.closed = true; return nil }

func TestReloaderClosesReplacedEngine(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	src := &memSource{digest: "v1"}
	var built []*closingEngine
	r := NewReloader(src, func(context.Context, *config.Config) (Engine, error) {
		e := &closingEngine{}
		built = append(built, e)
		return e, nil
	}, time.Minute, func() time.Time { return now }, nil)
	r.Engine(context.Background())
	src.digest = "v2"
	now = now.Add(2 * time.Minute)
	r.Engine(context.Background())
	if len(built) != 2 || !built[0].closed || built[1].closed {
		t.Fatalf("after a reload: %d engines, first closed %v, second closed %v", len(built), built[0].closed, built[1].closed)
	}
}

func TestParseConfigSource(t *testing.T) {
	for ref, want := range map[string]string{
		"ssm:/trailwatch/config":               "ssm:/trailwatch/config",
		"s3://bucket/conf/tw.yml":              "s3://bucket/conf/tw.yml",
		"/var/task/trailwatch.yaml":            "/var/task/trailwatch.yaml",
		"/var/task/trailwatch/tattletail.toml": "/var/task/trailwatch/tattletail.toml",
	} {
		src, err := ParseConfigSource(ref, nil, nil)
		if err != nil || src.String() != want {
			t.Errorf("ParseConfigSource(%q) = %v, %v", ref, src, err)
		}
	}
	for bad, want := range map[string]string{
		"ssm:":             `config source "ssm:": "ssm:": want an SSM parameter name such as ssm:/trailwatch/config`,
		"s3://bucket":      `config source "s3://bucket": want s3://bucket/key`,
		"s3://bucket/dir/": `config source "s3://bucket/dir/": want s3://bucket/key`,
		"s3:///key":        `config source "s3:///key": "s3:///key" names no bucket: write s3://bucket/key`,
		"ssm:/trailwatch/": `config source "ssm:/trailwatch/" names a folder; name the configuration file`,
	} {
		if _, err := ParseConfigSource(bad, nil, nil); err == nil || err.Error() != want {
			t.Errorf("ParseConfigSource(%q) error %v, want %s", bad, err, want)
		}
	}
	if src, err := ParseConfigSource("", nil, nil); src != nil || err != nil {
		t.Errorf("empty reference = %v, %v; want embedded defaults", src, err)
	}
}

// TestReloadRulesFromS3 runs the real loader and pipeline: rule files
// beside the configuration in S3 are loaded, a change to one alone is
// picked up at the next check, and a broken one keeps the last good set
// with the reason logged.
func TestReloadRulesFromS3(t *testing.T) {
	s3 := sourcetest.NewS3(t)
	s3.Put(t, "cfg", "tw/trailwatch.yaml", []byte("rules:\n  packs: none\n  files: [rules/*.yaml]\nstate:\n  backend: memory\n"))
	s3.Put(t, "cfg", "tw/rules/ours.yaml", []byte("rules:\n  - id: ours\n    title: Ours\n    severity: high\n    pattern: {eventName: [CreateUser]}\n"))
	src, err := ParseConfigSource("s3://cfg/tw/trailwatch.yaml", nil, s3.Client())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	r := NewReloader(src, func(ctx context.Context, c *config.Config) (Engine, error) {
		p, err := pipeline.New(ctx, c, pipeline.Deps{Logger: log, NoDetectors: true})
		if err != nil {
			return nil, err
		}
		return pipelineEngine{p}, nil
	}, time.Minute, func() time.Time { return now }, log)
	ctx := context.Background()
	ids := func() []string {
		t.Helper()
		e, err := r.Engine(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, rl := range e.(pipelineEngine).Rules().Rules() {
			out = append(out, rl.ID)
		}
		return out
	}
	if got := ids(); len(got) != 1 || got[0] != "ours" {
		t.Fatalf("rules %q", got)
	}
	s3.Put(t, "cfg", "tw/rules/more.yaml", []byte("rules:\n  - id: more\n    title: More\n    severity: low\n    pattern: {eventName: [DeleteUser]}\n"))
	now = now.Add(2 * time.Minute)
	if got := ids(); len(got) != 2 {
		t.Fatalf("a new rule file beside an unchanged configuration was not loaded: %q", got)
	}
	s3.Put(t, "cfg", "tw/rules/more.yaml", []byte("rules:\n  - id: more\n    titel: typo\n"))
	now = now.Add(2 * time.Minute)
	if got := ids(); len(got) != 2 {
		t.Fatalf("a broken rule file replaced the last good set: %q", got)
	}
	if !strings.Contains(logs.String(), `"msg":"config_reload_failed"`) || !strings.Contains(logs.String(), `s3://cfg/tw/rules/more.yaml:3: rule \"more\": unknown key \"titel\"`) {
		t.Errorf("the reason is not logged:\n%s", logs.String())
	}
}

func TestReadEnvReloadInterval(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == EnvReload {
				return v
			}
			return ""
		}
	}
	if e, err := ReadEnv(env("5s")); err != nil || e.Reload != 5*time.Second {
		t.Errorf("5s: %v, %v", e.Reload, err)
	}
	if e, err := ReadEnv(env("")); err != nil || e.Reload != 0 {
		t.Errorf("unset: %v, %v", e.Reload, err)
	}
	for _, bad := range []string{"soon", "0s", "48h"} {
		if _, err := ReadEnv(env(bad)); err == nil || !strings.Contains(err.Error(), "is not a duration from 1s to 24h") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestTattletailConfiguration: TRAILWATCH_CONFIG may name a
// cloudtrail-tattletail configuration; the function runs its rules.
func TestTattletailConfiguration(t *testing.T) {
	b, err := os.ReadFile("../../examples/tattletail.toml")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the CLI's default file state store
	t.Setenv("HOME", t.TempDir())
	p := filepath.Join(t.TempDir(), "tattletail.toml")
	os.WriteFile(p, []byte(strings.Replace(string(b), "___YOUR_SLACK_WEBHOOK___", "https://hooks.example.test/services/T0/B0/x", 1)), 0o600)
	src, err := ParseConfigSource(p, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := NewReloader(src, func(ctx context.Context, c *config.Config) (Engine, error) {
		p, err := pipeline.New(ctx, c, pipeline.Deps{NoDetectors: true})
		if err != nil {
			return nil, err
		}
		return pipelineEngine{p}, nil
	}, time.Minute, nil, nil)
	e, err := r.Engine(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer e.(pipelineEngine).Close()
	var ids []string
	for _, rl := range e.(pipelineEngine).Rules().Rules() {
		ids = append(ids, rl.ID)
	}
	if strings.Join(ids, ",") != "create-accesskey,ssm-start-session" {
		t.Errorf("rules %q", ids)
	}
}
