package notify

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
)

// Redacted replaces every secret the Redactor finds.
const Redacted = "<redacted>"

// Redactor removes known secrets from text before it reaches an error or a
// log line. A server that answers with an error may quote the request back:
// the webhook URL, a token from a header, a Basic credential. It rarely does
// so byte for byte, so each secret is looked for in every encoding such an
// echo is likely to use (see Encodings), and for a URL also its parts: the
// path, the query, each query value and each path segment that looks like a
// token.
//
// Receivers register their credentials when they are built (Add, AddURL,
// AddHeader, AddBasic); one Redactor may be shared by every receiver of a
// process, so that one receiver's errors cannot carry another's secret.
// Safe for concurrent use: registering while another goroutine redacts is
// allowed.
type Redactor struct {
	mu   sync.Mutex // serialises registration
	seen map[string]bool
	// set holds the needles, longest first; replaced whole on each
	// registration so that Redact never locks.
	set atomic.Pointer[needleSet]
}

type needleSet struct {
	needles []string
	longest int
}

// NewRedactor returns a Redactor for the non-empty values given, as Add
// registers them.
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	r.Add(secrets...)
	return r
}

// Add registers each non-empty value, in every encoding Encodings lists,
// and for a value of 12 bytes or more also every 8-byte piece of it: an
// echo that escapes only the punctuation of a token, quotes it twice, or
// stops half-way still shows such a piece, and the piece is removed.
func (r *Redactor) Add(secrets ...string) {
	var needles []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		needles = append(needles, Encodings(s)...)
		needles = append(needles, pieces(s)...)
	}
	r.addNeedles(needles)
}

// addWhole registers values in every encoding but not their pieces: parts of
// a URL such as its path hold words of the route and the host name, which
// may appear in any message.
func (r *Redactor) addWhole(values ...string) {
	var needles []string
	for _, s := range values {
		if s != "" {
			needles = append(needles, Encodings(s)...)
		}
	}
	r.addNeedles(needles)
}

// Pieces of a secret that Add registers: pieceLen bytes, from secrets of at
// least minPieced bytes.
const (
	pieceLen  = 8
	minPieced = 12
)

func pieces(s string) []string {
	if len(s) < minPieced {
		return nil
	}
	out := make([]string, 0, len(s)-pieceLen+1)
	for i := 0; i+pieceLen <= len(s); i++ {
		out = append(out, s[i:i+pieceLen])
	}
	return out
}

// AddURL registers a URL that is itself a credential (a Slack or Teams
// webhook, a webhook with a token in its path or query): the whole URL in
// its raw, parsed and redacted forms, its path, query, query values,
// fragment, user and password, and each path segment that looks like a
// token, so that a server that echoes only the token part is caught too.
// Parts of five bytes or fewer are left out: they name nothing and would
// garble every message they appear in.
func (r *Redactor) AddURL(raw string) {
	if raw == "" {
		return
	}
	whole := []string{raw}
	var tokens []string
	u, err := url.Parse(raw)
	if err == nil {
		whole = append(whole, u.String(), u.Redacted())
		long := func(s string) {
			if len(s) > 5 {
				whole = append(whole, s)
			}
		}
		long(u.Path)
		long(u.EscapedPath())
		long(u.RawQuery)
		long(u.Fragment)
		for _, seg := range strings.Split(u.Path, "/") {
			if looksLikeToken(seg) {
				tokens = append(tokens, seg)
			}
		}
		for k, vs := range u.Query() {
			for _, v := range vs {
				if !looksLikeToken(v) {
					long(v)
					continue
				}
				tokens = append(tokens, v)
				whole = append(whole, k+"="+v, k+"="+url.QueryEscape(v))
			}
		}
		if u.User != nil {
			user := u.User.Username()
			if p, ok := u.User.Password(); ok {
				r.AddBasic(user, p)
			} else {
				long(user)
			}
		}
	}
	r.addWhole(whole...)
	r.Add(tokens...)
}

// AddHeader registers the value of a header that carries a credential
// ("Bearer abc...", "Basic dXNlcjpwYXNz", an API key): the whole value, the
// credential after an authentication scheme, and for Basic the decoded user
// and password.
func (r *Redactor) AddHeader(value string) {
	value = strings.TrimSpace(value)
	if value == "" {
		return
	}
	r.Add(value)
	scheme, cred, ok := strings.Cut(value, " ")
	if !ok {
		return
	}
	cred = strings.TrimSpace(cred)
	if len(cred) > 5 {
		r.Add(cred)
	}
	if strings.EqualFold(scheme, "Basic") {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
			if b, err := enc.DecodeString(cred); err == nil {
				user, pass, _ := strings.Cut(string(b), ":")
				r.AddBasic(user, pass)
				break
			}
		}
	}
}

// AddBasic registers a user name and password sent as a Basic credential
// or in a URL: the password, "user:pass" (which Basic encodes in base64)
// and the SASL PLAIN form "\x00user\x00pass".
func (r *Redactor) AddBasic(user, pass string) {
	if pass == "" {
		return
	}
	r.Add(pass, user+":"+pass, "\x00"+user+"\x00"+pass)
}

func (r *Redactor) addNeedles(needles []string) {
	if len(needles) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	var all []string
	if cur := r.set.Load(); cur != nil {
		all = append(all, cur.needles...)
	}
	for _, n := range needles {
		if n != "" && !r.seen[n] {
			r.seen[n] = true
			all = append(all, n)
		}
	}
	// Longest first, so that where two needles start at one place the
	// whole secret is the one reported.
	slices.SortStableFunc(all, func(a, b string) int { return len(b) - len(a) })
	set := &needleSet{needles: all}
	if len(all) > 0 {
		set.longest = len(all[0])
	}
	r.set.Store(set)
}

// looksLikeToken reports whether a URL path segment or query value is
// likely a credential rather than a word of the route: no slash, at least 8
// bytes, and letters mixed with digits or capitals, or 24 bytes or more.
func looksLikeToken(v string) bool {
	if len(v) < 8 || strings.Contains(v, "/") {
		return false
	}
	if len(v) >= 24 {
		return true
	}
	return strings.ContainsFunc(v, unicode.IsLetter) && strings.ContainsFunc(v, func(r rune) bool { return unicode.IsDigit(r) || unicode.IsUpper(r) })
}

// Redact replaces every occurrence of every registered secret, in any of
// its encodings, with "<redacted>". Overlapping occurrences are replaced as
// one, so that no piece of a secret survives between two others.
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	set := r.set.Load()
	if set == nil || s == "" {
		return s
	}
	type span struct{ from, to int }
	var spans []span
	for _, n := range set.needles {
		for off := 0; off <= len(s)-len(n); {
			i := strings.Index(s[off:], n)
			if i < 0 {
				break
			}
			spans = append(spans, span{off + i, off + i + len(n)})
			off += i + 1
		}
	}
	if len(spans) == 0 {
		return s
	}
	slices.SortFunc(spans, func(a, b span) int { return a.from - b.from })
	var b strings.Builder
	b.Grow(len(s))
	at := 0
	for i := 0; i < len(spans); {
		from, to := spans[i].from, spans[i].to
		for i++; i < len(spans) && spans[i].from <= to; i++ {
			to = max(to, spans[i].to)
		}
		b.WriteString(s[at:from])
		b.WriteString(Redacted)
		at = to
	}
	b.WriteString(s[at:])
	return b.String()
}

// Snippet returns the start of an answer body as one printable line of at
// most 256 bytes, with every secret removed. Secrets are removed before the
// body is cut, so that a cut cannot leave the start of a URL whose end would
// have matched; and when the cut (or the server) leaves the beginning of a
// secret at the end of the line, that beginning is removed as well.
func (r *Redactor) Snippet(b []byte) string {
	if r == nil {
		return Snippet(b)
	}
	// Only the start of the body can be shown; redact a window long enough
	// that no secret overlapping the shown part is cut by the window.
	window := maxSnippet * 4
	if set := r.set.Load(); set != nil {
		window += set.longest
	}
	s := r.Redact(string(b[:min(len(b), window)]))
	s = r.Redact(flatten(s)) // spaces were collapsed: look again
	line, cut := cutLine(s, maxSnippet)
	line = r.trimPartial(line)
	if cut || len(b) > window {
		line += "..."
	}
	return line
}

// trimPartial removes the end of s when it is the beginning (three bytes or
// more) of a registered secret, as when a cut or a server's own truncation
// leaves only the first part of a token.
func (r *Redactor) trimPartial(s string) string {
	if r == nil {
		return s
	}
	set := r.set.Load()
	if set == nil {
		return s
	}
	const minPart = 3
	best := 0
	for _, n := range set.needles {
		for k := min(len(n)-1, len(s)); k >= minPart && k > best; k-- {
			if s[len(s)-k] == n[0] && strings.HasSuffix(s, n[:k]) {
				best = k
				break
			}
		}
	}
	if best == 0 {
		return s
	}
	return s[:len(s)-best] + Redacted
}

// Error returns err unchanged when its text holds no secret. Otherwise it
// returns an error with the redacted text that unwraps only to the context
// errors err matched, so no caller can reach the original text.
func (r *Redactor) Error(err error) error {
	if err == nil || r == nil {
		return err
	}
	msg := err.Error()
	red := r.Redact(msg)
	if red == msg {
		return err
	}
	re := &redactedError{msg: red}
	for _, c := range []error{context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, c) {
			re.cause = c
		}
	}
	return re
}

type redactedError struct {
	msg   string
	cause error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.cause }

// Encodings returns s as a server that quotes a request back is likely to
// write it:
//
//   - raw;
//   - JSON-escaped, with "/" kept, as "\/", "\u002f" or "\u002F", with or
//     without <, > and & as \u003c..., with non-ASCII as \u escapes, and
//     with every character but letters and digits as a \u escape;
//   - HTML-escaped (&amp; &lt; &gt; &#34; &#39;, or &quot; &#x27; &#x2F;);
//   - percent-encoded in upper and lower case: everything but the unreserved
//     characters, also keeping "/", or as encodeURIComponent, QueryEscape
//     and PathEscape do;
//   - base64 in the standard and URL alphabets, padded and not, and the part
//     of it that stays the same wherever s starts inside a longer encoded
//     blob (a password inside a Basic credential).
func Encodings(s string) []string {
	out := []string{s}
	add := func(v string) {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	for _, html := range []bool{false, true} {
		for _, ascii := range []bool{false, true} {
			for _, slash := range []string{"/", `\/`, `\u002f`, `\u002F`} {
				for _, upper := range []bool{false, true} {
					add(jsonEscape(s, html, ascii, false, slash, upper))
				}
			}
		}
	}
	for _, upper := range []bool{false, true} {
		add(jsonEscape(s, false, true, true, "", upper))
	}
	if q := strconv.Quote(s); len(q) > 2 {
		add(q[1 : len(q)-1])
	}
	add(html.EscapeString(s))
	add(strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#x27;", "/", "&#x2F;").Replace(s))
	unreserved := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
	}
	for _, upper := range []bool{false, true} {
		add(percentEncode(s, unreserved, upper))
		add(percentEncode(s, func(c byte) bool { return unreserved(c) || c == '/' }, upper))
		add(percentEncode(s, func(c byte) bool { return unreserved(c) || strings.IndexByte("!'()*", c) >= 0 }, upper))
		add(lowerHex(url.QueryEscape(s), !upper))
		add(lowerHex(url.PathEscape(s), !upper))
	}
	b := []byte(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		add(enc.EncodeToString(b))
	}
	// Inside a longer blob, s starts at one of three byte alignments. The
	// whole 3-byte groups of s after its first partial group encode the
	// same whatever surrounds them.
	for skip := 0; skip < 3 && skip < len(b); skip++ {
		core := b[skip:]
		core = core[:len(core)/3*3]
		if len(core) < 6 {
			continue
		}
		add(base64.RawStdEncoding.EncodeToString(core))
		add(base64.RawURLEncoding.EncodeToString(core))
	}
	return out
}

// jsonEscape writes s as the inside of a JSON string. html escapes <, > and
// &; ascii writes non-ASCII as \u escapes (surrogate pairs beyond the BMP);
// all escapes every character but letters and digits; slash is how "/" is
// written ("" keeps it); upper writes hex digits in capitals.
func jsonEscape(s string, htmlSafe, ascii, all bool, slash string, upper bool) string {
	hex := "\\u%04x"
	if upper {
		hex = "\\u%04X"
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '/' && slash != "":
			b.WriteString(slash)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x2028 || r == 0x2029:
			fmt.Fprintf(&b, hex, r)
		case all && !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'):
			writeUEscape(&b, r, hex)
		case htmlSafe && (r == '<' || r == '>' || r == '&'):
			fmt.Fprintf(&b, hex, r)
		case ascii && r >= utf8.RuneSelf:
			writeUEscape(&b, r, hex)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func writeUEscape(b *strings.Builder, r rune, hex string) {
	if r > 0xffff {
		r -= 0x10000
		fmt.Fprintf(b, hex, 0xd800+(r>>10))
		fmt.Fprintf(b, hex, 0xdc00+(r&0x3ff))
		return
	}
	fmt.Fprintf(b, hex, r)
}

// percentEncode writes every byte of s that keep refuses as %XX.
func percentEncode(s string, keep func(byte) bool, upper bool) string {
	digits := "0123456789abcdef"
	if upper {
		digits = "0123456789ABCDEF"
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if keep(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(digits[c>>4])
		b.WriteByte(digits[c&15])
	}
	return b.String()
}

// lowerHex writes the two hex digits after each % in lower case when lower
// is set.
func lowerHex(s string, lower bool) string {
	if !lower || !strings.Contains(s, "%") {
		return s
	}
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			for j := i + 1; j <= i+2; j++ {
				if b[j] >= 'A' && b[j] <= 'F' {
					b[j] += 'a' - 'A'
				}
			}
		}
	}
	return string(b)
}
