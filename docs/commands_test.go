// Package docs holds trailwatch's user documentation. Its test runs every
// command the documentation shows, so that each one runs as written.
//
// # The convention
//
// The test reads README.md and docs/*.md and runs the commands of every
// fenced block whose info string is "sh":
//
//		```sh
//		trailwatch validate trailwatch.yaml
//		```
//
//	  - In a block with lines starting with "$ ", those lines are the
//	    commands and the lines after each, up to the next "$ " line, its
//	    output (shown, not compared). In a block without them, every line is
//	    a command. A line ending in "\" continues on the next. Lines that are
//	    only a comment (#) are skipped; a trailing "# ..." is a shell comment.
//	  - A command must exit 0, unless it ends with the comment "# exits N".
//	  - Each document runs in its own temporary folder holding a copy of the
//	    repository's examples/, rules/, testdata/ and deploy/, its commands in
//	    document order (a later command sees what an earlier one wrote), with
//	    sh -c. "trailwatch" and "go run ./cmd/trailwatch" run the binary the
//	    test builds once.
//	  - A fenced block of any language whose first line is "# file: PATH" is
//	    written to PATH when the test reaches it, before the commands after
//	    it run: a worked example's trailwatch.yaml or rule file.
//	  - AWS: "aws s3 cp", "aws s3 sync" and "aws ssm put-parameter" act on
//	    in-process S3 and SSM stand-ins, which trailwatch reads too (through
//	    AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL_SSM): a worked example that
//	    uploads a configuration and validates it from S3 or SSM runs whole.
//	    The stand-in bucket my-trail-bucket holds the sample logs of
//	    testdata/sample under AWSLogs/111122223333/CloudTrail/us-east-1/2023/07/10/.
//	    Any other aws command acts on a real account and is not run (the test
//	    logs it).
//	  - A block whose info string is "sh skip: REASON" is not run; the test
//	    logs the reason. Keep these few: the suite itself (make test),
//	    builds and measurements that take minutes. TRAILWATCH_DOCS_ALL=1
//	    runs them too.
//
// A new command in the documentation needs nothing but this convention:
// put it in a "sh" block, with the files it reads in "# file:" blocks or in
// the repository folders above.
package docs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/config/source/sourcetest"
)

// Environment variables the test sets for the aws stand-in process.
const (
	envAWSShim = "TRAILWATCH_DOCS_AWS_SHIM"
	envAll     = "TRAILWATCH_DOCS_ALL"
)

// The bucket the stand-in S3 fills with the sample logs.
const (
	trailBucket = "my-trail-bucket"
	trailPrefix = "AWSLogs/111122223333/CloudTrail/us-east-1/2023/07/10/"
)

// binDir holds "trailwatch" (built once) and "aws" (this test binary).
var binDir string

func TestMain(m *testing.M) {
	if os.Getenv(envAWSShim) == "1" {
		os.Exit(awsShim(os.Args[1:]))
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "trailwatch-docs-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "docs:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "trailwatch"), "../cmd/trailwatch")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "docs: building trailwatch failed:", err)
		return 1
	}
	self, err := os.Executable()
	if err == nil {
		err = os.Symlink(self, filepath.Join(dir, "aws"))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "docs:", err)
		return 1
	}
	return m.Run()
}

// step is one thing a document asks for, in order: a file to write or a
// command to run.
type step struct {
	line    int
	file    string // "# file: PATH" block: PATH
	content string
	command string
	exit    int    // expected exit status
	skip    string // why the command is not run
}

var (
	exitsComment = regexp.MustCompile(`#\s*exits\s+(\d+)\s*$`)
	awsCall      = regexp.MustCompile(`\baws\s+([a-z0-9-]+)\s+([a-z0-9-]+)`)
	fence        = regexp.MustCompile("^\\s*```(.*)$")
)

// parse reads a document's steps.
func parse(t *testing.T, name string) []step {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	var steps []step
	for i := 0; i < len(lines); i++ {
		m := fence.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		info := strings.TrimSpace(m[1])
		start := i + 1
		end := start
		for end < len(lines) && strings.TrimSpace(lines[end]) != "```" {
			end++
		}
		body := lines[start:min(end, len(lines))]
		i = end
		if len(body) > 0 {
			if p, ok := strings.CutPrefix(strings.TrimSpace(body[0]), "# file:"); ok {
				steps = append(steps, step{line: start, file: strings.TrimSpace(p), content: strings.Join(body, "\n") + "\n"})
				continue
			}
		}
		skip := ""
		switch {
		case info == "sh":
		case strings.HasPrefix(info, "sh skip:"):
			skip = strings.TrimSpace(strings.TrimPrefix(info, "sh skip:"))
			if skip == "" {
				t.Errorf("%s:%d: \"sh skip:\" without a reason", name, start)
			}
		default:
			continue
		}
		for _, c := range commands(body, start+1) {
			c.skip = skip
			steps = append(steps, c)
		}
	}
	return steps
}

// commands splits a sh block into commands (see the convention above). A
// command goes on to the next line after a trailing "\", inside a quoted
// string, and inside for/while/if/case compounds, $( ) and { }.
func commands(body []string, firstLine int) []step {
	prompts := slices.ContainsFunc(body, func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), "$ ") })
	var out []step
	var cur *step
	cont := false
	var sc shellScan
	for i, raw := range body {
		l := strings.TrimSpace(raw)
		if cont && cur != nil {
			cur.command += "\n" + raw
			sc.line(raw)
			cont = sc.open() || strings.HasSuffix(l, "\\")
			continue
		}
		cont = false
		sc = shellScan{}
		if prompts {
			p, ok := strings.CutPrefix(l, "$ ")
			if !ok {
				continue // output
			}
			l = p
		}
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, step{line: firstLine + i, command: l})
		cur = &out[len(out)-1]
		sc.line(l)
		cont = sc.open() || strings.HasSuffix(l, "\\")
	}
	for i := range out {
		if m := exitsComment.FindStringSubmatch(out[i].command); m != nil {
			out[i].exit, _ = strconv.Atoi(m[1])
		}
		out[i].command = strings.ReplaceAll(out[i].command, "go run ./cmd/trailwatch", "trailwatch")
	}
	return out
}

// shellScan follows what a shell command leaves open at the end of a line:
// a quoted string, a compound command, a $( ) or { } group.
type shellScan struct {
	quote byte // ' or " when a string is open
	depth int  // open compounds and groups
}

var (
	opens  = map[string]bool{"do": true, "then": true, "case": true}
	closes = map[string]bool{"done": true, "fi": true, "esac": true}
)

func (s *shellScan) open() bool { return s.quote != 0 || s.depth > 0 }

// line scans one line.
func (s *shellScan) line(l string) {
	word := func(i int) string {
		j := i
		for j < len(l) && (l[j] >= 'a' && l[j] <= 'z') {
			j++
		}
		return l[i:j]
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case s.quote == '\'':
			if c == '\'' {
				s.quote = 0
			}
		case s.quote == '"':
			switch c {
			case '\\':
				i++
			case '"':
				s.quote = 0
			}
		case c == '\'' || c == '"':
			s.quote = c
		case c == '\\':
			i++
		case c == '#' && (i == 0 || l[i-1] == ' ' || l[i-1] == '\t'):
			return // a comment
		case c == '(' || c == '{':
			s.depth++
		case c == ')' || c == '}':
			if s.depth > 0 {
				s.depth--
			}
		case c >= 'a' && c <= 'z' && (i == 0 || !isWordByte(l[i-1])):
			w := word(i)
			if opens[w] {
				s.depth++
			} else if closes[w] && s.depth > 0 {
				s.depth--
			}
			i += len(w) - 1
		}
	}
}

func isWordByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c == '/' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// realAWS returns the aws command a line calls that the stand-ins cannot
// answer, or "".
func realAWS(command string) string {
	for _, m := range awsCall.FindAllStringSubmatch(command, -1) {
		switch m[1] + " " + m[2] {
		case "s3 cp", "s3 sync", "ssm put-parameter":
		default:
			return "aws " + m[1] + " " + m[2]
		}
	}
	return ""
}

// docs lists the documents.
func docs(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.md")
	if err != nil || len(files) == 0 {
		t.Fatalf("no documents: %v", err)
	}
	return append([]string{"../README.md"}, files...)
}

// TestDocumentedCommands runs every command of every document.
func TestDocumentedCommands(t *testing.T) {
	all := os.Getenv(envAll) == "1"
	ran, notRun := 0, 0
	for _, doc := range docs(t) {
		steps := parse(t, doc)
		if len(steps) == 0 {
			continue
		}
		t.Run(filepath.Base(doc), func(t *testing.T) {
			dir := workspace(t)
			s3 := sourcetest.NewS3(t)
			ssm := sourcetest.NewSSM(t)
			for _, f := range sampleLogs(t) {
				s3.Put(t, trailBucket, trailPrefix+filepath.Base(f), mustRead(t, f))
			}
			env := os.Environ()
			env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "PATH=") })
			for k, v := range sourcetest.Env(dir, s3, ssm) {
				env = append(env, k+"="+v)
			}
			env = append(env, "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"),
				"HOME="+dir, "XDG_CACHE_HOME="+filepath.Join(dir, ".cache"), envAWSShim+"=1")
			for _, s := range steps {
				where := fmt.Sprintf("%s:%d", doc, s.line)
				if s.file != "" {
					p := filepath.Join(dir, filepath.FromSlash(s.file))
					os.MkdirAll(filepath.Dir(p), 0o755)
					if err := os.WriteFile(p, []byte(s.content), 0o644); err != nil {
						t.Fatalf("%s: %v", where, err)
					}
					continue
				}
				why := s.skip
				if why == "" {
					if a := realAWS(s.command); a != "" {
						why = a + " acts on a real AWS account"
					}
				} else if all {
					why = ""
				}
				if why != "" {
					notRun++
					t.Logf("%s: not run (%s): %s", where, why, firstLine(s.command))
					continue
				}
				ran++
				wd := dir
				if s.skip != "" {
					// Asked for with TRAILWATCH_DOCS_ALL=1: builds, the suite
					// and measurements run in the repository itself.
					wd = ".."
				}
				out, code := runShell(t, wd, env, s.command)
				if code != s.exit {
					t.Errorf("%s: %s\nexit %d, want %d\n%s", where, s.command, code, s.exit, out)
				}
			}
		})
	}
	t.Logf("ran %d documented commands; %d not run", ran, notRun)
	if ran+notRun == 0 {
		t.Fatal("no documented command found")
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// runShell runs one command and returns its output and exit status.
func runShell(t *testing.T, dir string, env []string, command string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	}
	return string(out) + err.Error(), -1
}

// workspace copies the repository folders the documents use.
func workspace(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"examples", "rules", "testdata", "deploy"} {
		if err := os.CopyFS(filepath.Join(dir, d), os.DirFS(filepath.Join("..", d))); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func sampleLogs(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "testdata", "sample", "*", "*.json.gz"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample logs: %v", err)
	}
	return files
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConvention checks the parser on the forms the convention names.
func TestConvention(t *testing.T) {
	body := strings.Split(`$ trailwatch rules --packs signin
PACK ID
$ trailwatch check --fail-on high \
    testdata/sample   # exits 2
# a comment`, "\n")
	got := commands(body, 10)
	if len(got) != 2 || got[0].command != "trailwatch rules --packs signin" || got[0].line != 10 ||
		got[1].exit != 2 || !strings.Contains(got[1].command, "testdata/sample") || got[1].line != 12 {
		t.Errorf("commands = %+v", got)
	}
	plain := commands([]string{"go run ./cmd/trailwatch test", "  # continues", "make test"}, 1)
	if len(plain) != 2 || plain[0].command != "trailwatch test" || plain[1].command != "make test" {
		t.Errorf("plain = %+v", plain)
	}
	multi := commands(strings.Split(`aws s3api put --x '{
  "a": "b"
}'
for r in $(aws ec2 describe-regions); do
  echo "$r"
done
X=$(trailwatch rules \
  --packs signin)
echo done`, "\n"), 1)
	if len(multi) != 4 || multi[1].line != 4 || multi[2].line != 7 || multi[3].command != "echo done" {
		t.Errorf("multi = %+v", multi)
	}
	for line, want := range map[string]string{
		"aws s3 cp a s3://b/k":                          "",
		"aws ssm put-parameter --name /x --value y":     "",
		"X=$(aws cloudformation describe-stacks --x y)": "aws cloudformation describe-stacks",
		"trailwatch validate s3://b/k":                  "",
	} {
		if got := realAWS(line); got != want {
			t.Errorf("realAWS(%q) = %q, want %q", line, got, want)
		}
	}
}
