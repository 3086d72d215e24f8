package jq

import (
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// Pin is a field a query cannot match without: the field at Path is a
// string equal to one of Values or, with Prefix, beginning with one of
// them or, with Substring, containing one of them. Fold reports that the
// values compare with ASCII case ignored (.a | ascii_downcase == "x"): an
// index that folds case finds the event all the same. A rule set uses pins
// to offer an event only to the rules that can match it.
type Pin struct {
	Path      []string
	Values    []string
	Prefix    bool
	Substring bool
	Fold      bool
}

// Kinds of pin, each implied by the one before: a text equal to v begins
// with v and contains it.
const (
	kindExact = iota
	kindPrefix
	kindSubstring
)

func (p Pin) kind() int {
	switch {
	case p.Substring:
		return kindSubstring
	case p.Prefix:
		return kindPrefix
	}
	return kindExact
}

func (p *Pin) setKind(k int) { p.Prefix, p.Substring = k == kindPrefix, k == kindSubstring }

// Pins returns the query's pins, one per field, in the order the query
// names the fields. A query that pins nothing returns none.
func (q *Query) Pins() []Pin {
	out := make([]Pin, len(q.pins))
	for i, p := range q.pins {
		out[i] = Pin{Path: slices.Clone(p.Path), Values: slices.Clone(p.Values), Prefix: p.Prefix, Substring: p.Substring, Fold: p.Fold}
	}
	return out
}

// programPins are the pins of every condition the program requires: each
// select stage, and the result when it is a condition.
func programPins(p *program) []Pin {
	if p == nil {
		return nil
	}
	var all []Pin
	for _, c := range p.stages {
		all = pinsAnd(all, condPins(c))
	}
	if p.result == rCond {
		all = pinsAnd(all, condPins(p.cond))
	}
	return all
}

// condPins returns the pins of c: what every record on which c has a true
// output satisfies. Errors do not count: a record c would stop on with an
// error does not match either.
func condPins(c *cond) []Pin {
	switch c.op {
	case cAnd:
		return pinsAnd(condPins(c.kids[0]), condPins(c.kids[1]))
	case cOr:
		return pinsOr(condPins(c.kids[0]), condPins(c.kids[1]))
	case cEq, cIn:
		return valuePin(c.val, c.lits, kindExact)
	case cPrefix:
		return valuePin(c.val, []literal{{kind: kString, s: c.s}}, kindPrefix)
	case cSuffix, cContains:
		return valuePin(c.val, []literal{{kind: kString, s: c.s}}, kindSubstring)
	case cRegex:
		if values, kind, ok := regexpPin(c.re.String()); ok {
			lits := make([]literal, len(values))
			for i, v := range values {
				lits[i] = literal{kind: kString, s: v}
			}
			return valuePin(c.val, lits, kind)
		}
	}
	return nil
}

// valuePin pins v to the string literals lits, when v is a field of the
// record as read, or changed by one ASCII case function (then the pin
// folds case), or given a default no literal equals.
func valuePin(v *value, lits []literal, kind int) []Pin {
	if len(v.path) == 0 || len(v.fns) > 1 {
		return nil
	}
	p := Pin{Path: v.path, Fold: len(v.fns) == 1}
	p.setKind(kind)
	for _, l := range lits {
		if l.kind != kString {
			return nil // == null also holds for a missing field
		}
		if p.Fold && !isASCII(l.s) {
			// ascii_downcase turns bytes that are not UTF-8 into U+FFFD,
			// which folding does not: only an ASCII text is sure to be
			// found by a folded index.
			return nil
		}
		if v.alt != nil && v.alt.kind == kString && (l.s == v.alt.s ||
			kind == kindPrefix && strings.HasPrefix(v.alt.s, l.s) ||
			kind == kindSubstring && strings.Contains(v.alt.s, l.s)) {
			return nil // the default itself passes
		}
		if kind != kindExact && l.s == "" {
			return nil // every text begins with and contains ""
		}
		p.Values = appendNew(p.Values, l.s)
	}
	if len(p.Values) == 0 {
		return nil
	}
	return []Pin{p}
}

// pinsAnd joins the pins of two conditions that must both hold: a field
// pinned by both keeps the values both allow.
func pinsAnd(a, b []Pin) []Pin {
	out := slices.Clone(a)
	for _, pb := range b {
		i := slices.IndexFunc(out, func(pa Pin) bool { return slices.Equal(pa.Path, pb.Path) })
		if i < 0 {
			out = append(out, pb)
			continue
		}
		pa := out[i]
		if pa.kind() != kindExact || pb.kind() != kindExact || pa.Fold || pb.Fold {
			// Intersecting prefixes, or folded with exact values, is not
			// worth it: keep the tighter of the two.
			if pb.kind() < pa.kind() || pb.kind() == pa.kind() && !pb.Fold && pa.Fold {
				out[i] = pb
			}
			continue
		}
		var both []string
		for _, v := range pa.Values {
			if slices.Contains(pb.Values, v) {
				both = append(both, v)
			}
		}
		out[i] = Pin{Path: pa.Path, Values: both}
	}
	return out
}

// pinsOr joins the pins of two conditions one of which must hold: only a
// field pinned by both stays pinned, to the values either allows.
func pinsOr(a, b []Pin) []Pin {
	var out []Pin
	for _, pa := range a {
		i := slices.IndexFunc(b, func(pb Pin) bool { return slices.Equal(pa.Path, pb.Path) })
		if i < 0 {
			continue
		}
		pb := b[i]
		p := Pin{Path: pa.Path, Fold: pa.Fold || pb.Fold}
		// An exact text is its own prefix and substring.
		p.setKind(max(pa.kind(), pb.kind()))
		for _, v := range append(slices.Clone(pa.Values), pb.Values...) {
			p.Values = appendNew(p.Values, v)
		}
		out = append(out, p)
	}
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// maxRegexpTexts bounds how many texts a regular expression may spell out
// to pin a field.
const maxRegexpTexts = 64

// regexpPin reads a regular expression (as compiled, with the flags gojq
// prepends) that matches only a few whole texts (^(A|B)$, ^A$|^B$), only
// texts beginning with a few literals (^(A|B)), or only texts holding a
// literal (stratus, ^.*Admin), as those texts, prefixes or substring.
func regexpPin(expr string) (values []string, kind int, ok bool) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, 0, false
	}
	if spelt, ok := anchored(re); ok {
		kind = kindExact
		for _, t := range spelt {
			if t.text == "" {
				return nil, 0, false
			}
			if !t.end {
				kind = kindPrefix // an exact text is its own prefix
			}
			values = appendNew(values, t.text)
		}
		return values, kind, true
	}
	// Anywhere in the text: the longest literal the expression cannot
	// match without.
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	var longest string
	for _, s := range subs {
		if s.Op == syntax.OpLiteral && s.Flags&syntax.FoldCase == 0 && len(string(s.Rune)) > len(longest) {
			longest = string(s.Rune)
		}
	}
	if longest == "" {
		return nil, 0, false
	}
	return []string{longest}, kindSubstring, true
}

// spelt is a text a regular expression matches from the start of the
// input; end reports that the expression also requires the input to end
// there.
type spelt struct {
	text string
	end  bool
}

// anchored spells out what re matches when every way through it starts at
// the beginning of the input (^): the few texts that are the whole input
// or its beginning.
func anchored(re *syntax.Regexp) ([]spelt, bool) {
	switch re.Op {
	case syntax.OpAlternate:
		var all []spelt
		for _, s := range re.Sub {
			more, ok := anchored(s)
			if !ok {
				return nil, false
			}
			all = append(all, more...)
		}
		return all, len(all) <= maxRegexpTexts
	case syntax.OpCapture:
		return anchored(re.Sub[0])
	case syntax.OpConcat:
		if len(re.Sub) > 0 && re.Sub[0].Op == syntax.OpBeginText {
			return spellSeq(re.Sub[1:])
		}
		if len(re.Sub) > 0 {
			// ^ inside the first element: (^a|^b)c
			first, ok := anchored(re.Sub[0])
			if !ok {
				return nil, false
			}
			return extend(first, re.Sub[1:])
		}
	}
	return nil, false
}

// spellSeq spells a sequence of expressions read from the start.
func spellSeq(subs []*syntax.Regexp) ([]spelt, bool) {
	return extend([]spelt{{}}, subs)
}

// extend continues each text with every text of subs in turn.
func extend(texts []spelt, subs []*syntax.Regexp) ([]spelt, bool) {
	for _, s := range subs {
		more, ok := spellOne(s)
		if !ok {
			return nil, false
		}
		var next []spelt
		for _, t := range texts {
			for _, m := range more {
				if t.end && (m.text != "" || !m.end) {
					return nil, false // text after the end
				}
				next = append(next, spelt{text: t.text + m.text, end: t.end || m.end})
			}
		}
		if len(next) > maxRegexpTexts {
			return nil, false
		}
		texts = next
	}
	return texts, true
}

// spellOne spells one expression of a sequence: its texts, and $.
func spellOne(re *syntax.Regexp) ([]spelt, bool) {
	switch re.Op {
	case syntax.OpEndText:
		return []spelt{{end: true}}, true
	case syntax.OpCapture:
		return spellOne(re.Sub[0])
	case syntax.OpConcat:
		return spellSeq(re.Sub)
	case syntax.OpAlternate:
		var all []spelt
		for _, s := range re.Sub {
			more, ok := spellOne(s)
			if !ok {
				return nil, false
			}
			all = append(all, more...)
		}
		return all, len(all) <= maxRegexpTexts
	}
	texts, ok := regexpTexts(re)
	if !ok {
		return nil, false
	}
	out := make([]spelt, len(texts))
	for i, t := range texts {
		out[i] = spelt{text: t}
	}
	return out, true
}

// regexpTexts spells out every text re matches, when they are few.
func regexpTexts(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		return []string{string(re.Rune)}, true
	case syntax.OpEmptyMatch:
		return []string{""}, true
	case syntax.OpCapture:
		return regexpTexts(re.Sub[0])
	case syntax.OpConcat:
		texts := []string{""}
		for _, s := range re.Sub {
			more, ok := regexpTexts(s)
			if !ok {
				return nil, false
			}
			var next []string
			for _, t := range texts {
				for _, m := range more {
					next = append(next, t+m)
				}
			}
			if len(next) > maxRegexpTexts {
				return nil, false
			}
			texts = next
		}
		return texts, true
	case syntax.OpAlternate:
		var texts []string
		for _, s := range re.Sub {
			more, ok := regexpTexts(s)
			if !ok {
				return nil, false
			}
			texts = append(texts, more...)
			if len(texts) > maxRegexpTexts {
				return nil, false
			}
		}
		return texts, true
	case syntax.OpQuest:
		more, ok := regexpTexts(re.Sub[0])
		if !ok {
			return nil, false
		}
		return append([]string{""}, more...), true
	case syntax.OpCharClass:
		var texts []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				texts = append(texts, string(r))
				if len(texts) > 8 {
					return nil, false
				}
			}
		}
		return texts, true
	}
	return nil, false
}
