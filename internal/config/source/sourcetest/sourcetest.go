// Package sourcetest holds in-process stand-ins for the places a
// configuration is read from in tests: an SSM Parameter Store speaking the
// AWS JSON protocol (GetParameter, GetParametersByPath) and an S3 bucket
// (gofakes3), each with an SDK client pointed at it. Tests of the CLI, the
// Lambda face and the end-to-end suite share them.
package sourcetest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Credentials the clients sign with; the stand-ins accept any.
const (
	KeyID  = "AKIDSOURCETEST"
	Secret = "sourcetest-secret"
)

// SSM is an in-process Parameter Store.
type SSM struct {
	URL string

	mu     sync.Mutex
	params map[string]param
	calls  map[string]int
	deny   map[string]bool // parameter names or paths refused
}

type param struct {
	value, typ string
}

// NewSSM starts a Parameter Store for the test.
func NewSSM(t testing.TB) *SSM {
	t.Helper()
	s := &SSM{params: map[string]param{}, calls: map[string]int{}, deny: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Put stores a String parameter (replacing one of the same name).
func (s *SSM) Put(name, value string) { s.put(name, value, "String") }

// PutSecure stores a SecureString parameter.
func (s *SSM) PutSecure(name, value string) { s.put(name, value, "SecureString") }

func (s *SSM) put(name, value, typ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.params[name] = param{value, typ}
}

// Deny makes requests for a parameter name or path fail with
// AccessDeniedException.
func (s *SSM) Deny(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deny[name] = true
}

// Calls returns how many requests of an operation were made
// ("GetParameter", "GetParametersByPath").
func (s *SSM) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Client returns an SSM client talking to the stand-in.
func (s *SSM) Client() *ssm.Client {
	return ssm.New(ssm.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(s.URL),
		Credentials:      credentials.NewStaticCredentialsProvider(KeyID, Secret, ""),
		RetryMaxAttempts: 1,
	})
}

func (s *SSM) serve(w http.ResponseWriter, r *http.Request) {
	_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	var body map[string]any
	json.NewDecoder(r.Body).Decode(&body)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	fail := func(typ, msg string) {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
	out := func(name string, p param, decrypt bool) map[string]any {
		v := p.value
		if p.typ == "SecureString" && !decrypt {
			v = "AQICAHencrypted" // what Parameter Store returns undecrypted
		}
		return map[string]any{"Name": name, "Type": p.typ, "Value": v, "Version": 1,
			"ARN": "arn:aws:ssm:us-east-1:123456789012:parameter" + name}
	}
	switch op {
	case "GetParameter":
		name, _ := body["Name"].(string)
		decrypt, _ := body["WithDecryption"].(bool)
		if s.deny[name] {
			fail("AccessDeniedException", "User is not authorized to perform: ssm:GetParameter on resource: "+name)
			return
		}
		p, ok := s.params[name]
		if !ok {
			fail("ParameterNotFound", "")
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"Parameter": out(name, p, decrypt)})
	case "GetParametersByPath":
		path, _ := body["Path"].(string)
		recursive, _ := body["Recursive"].(bool)
		decrypt, _ := body["WithDecryption"].(bool)
		if !strings.HasPrefix(path, "/") {
			fail("ValidationException", "The parameter doesn't meet the parameter name requirements.")
			return
		}
		if s.deny[path] {
			fail("AccessDeniedException", "User is not authorized to perform: ssm:GetParametersByPath on resource: "+path)
			return
		}
		prefix := strings.TrimSuffix(path, "/") + "/"
		var names []string
		for n := range s.params {
			rest, ok := strings.CutPrefix(n, prefix)
			if !ok || rest == "" || (!recursive && strings.Contains(rest, "/")) {
				continue
			}
			names = append(names, n)
		}
		slices.Sort(names)
		start := 0
		if tok, _ := body["NextToken"].(string); tok != "" {
			start, _ = strconv.Atoi(tok)
		}
		size := 10
		if m, ok := body["MaxResults"].(float64); ok && m > 0 {
			size = int(m)
		}
		end := min(start+size, len(names))
		var page []map[string]any
		for _, n := range names[min(start, len(names)):end] {
			page = append(page, out(n, s.params[n], decrypt))
		}
		res := map[string]any{"Parameters": page}
		if end < len(names) {
			res["NextToken"] = strconv.Itoa(end)
		}
		json.NewEncoder(w).Encode(res)
	case "PutParameter":
		name, _ := body["Name"].(string)
		value, _ := body["Value"].(string)
		typ, _ := body["Type"].(string)
		overwrite, _ := body["Overwrite"].(bool)
		if typ == "" {
			typ = "String"
		}
		if _, exists := s.params[name]; exists && !overwrite {
			fail("ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
			return
		}
		if !strings.HasPrefix(name, "/") && strings.Contains(name, "/") {
			fail("ValidationException", "Parameter name: can't be prefixed with \"/\" only when hierarchical")
			return
		}
		s.params[name] = param{value, typ}
		json.NewEncoder(w).Encode(map[string]any{"Version": 1, "Tier": "Standard"})
	default:
		fail("UnknownOperationException", op)
	}
}

// S3 is an in-process S3.
type S3 struct {
	URL     string
	backend *s3mem.Backend
}

// NewS3 starts an S3 for the test.
func NewS3(t testing.TB) *S3 {
	t.Helper()
	b := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(b).Server())
	t.Cleanup(srv.Close)
	return &S3{URL: srv.URL, backend: b}
}

// Put stores an object, creating its bucket when needed.
func (s *S3) Put(t testing.TB, bucket, key string, data []byte) {
	t.Helper()
	if ok, _ := s.backend.BucketExists(bucket); !ok {
		if err := s.backend.CreateBucket(bucket); err != nil {
			t.Fatalf("create bucket %s: %v", bucket, err)
		}
	}
	if _, err := s.backend.PutObject(bucket, key, map[string]string{}, bytes.NewReader(data), int64(len(data)), nil); err != nil {
		t.Fatalf("put s3://%s/%s: %v", bucket, key, err)
	}
}

// Delete removes an object.
func (s *S3) Delete(t testing.TB, bucket, key string) {
	t.Helper()
	if _, err := s.backend.DeleteObject(bucket, key); err != nil {
		t.Fatalf("delete s3://%s/%s: %v", bucket, key, err)
	}
}

// Client returns an S3 client talking to the stand-in (path-style).
func (s *S3) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(s.URL),
		UsePathStyle:     true,
		Credentials:      credentials.NewStaticCredentialsProvider(KeyID, Secret, ""),
		RetryMaxAttempts: 1,
		// Objects stored without checksums are normal here.
		DisableLogOutputChecksumValidationSkipped: true,
	})
}

// Env returns the environment that points a process's AWS SDK at the
// stand-ins (either may be nil), with static credentials and no shared
// configuration files from dir.
func Env(dir string, s3c *S3, ssmc *SSM) map[string]string {
	env := map[string]string{
		"AWS_REGION":                  "us-east-1",
		"AWS_ACCESS_KEY_ID":           KeyID,
		"AWS_SECRET_ACCESS_KEY":       Secret,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             dir + "/no-aws-config",
		"AWS_SHARED_CREDENTIALS_FILE": dir + "/no-aws-credentials",
	}
	if s3c != nil {
		env["AWS_ENDPOINT_URL_S3"] = s3c.URL
	}
	if ssmc != nil {
		env["AWS_ENDPOINT_URL_SSM"] = ssmc.URL
	}
	return env
}
